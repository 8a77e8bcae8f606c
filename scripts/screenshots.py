"""Pictures of the tray as a person sees it: the menu, quick access and every dialog, at 1x and
2x scale, light and dark, on a real X server with a tray host and a notification daemon.

    python scripts/screenshots.py [OUT_DIR]         (default: ./screenshots, git-ignored)

Needs (Debian): xvfb, trayer, dunst, dbus. It starts a private Xvfb, a session D-Bus, dunst and
trayer, then one process per scale and theme that runs `trayauth demo`'s tray against the local
demo provider, opens each view and saves it. Nothing touches the user's own config or keyring.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DISPLAY = ":73"
SCREEN = "1920x1200x24"
MANY = 40  # accounts in the "-many" pictures: the demo's, then pasted tokens


@contextlib.contextmanager
def started(argv: list[str], env: dict[str, str], settle: float = 0.5) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(settle)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def desktop(out: Path) -> int:
    missing = [tool for tool in ("Xvfb", "trayer", "dunst", "dbus-daemon") if shutil.which(tool) is None]
    if missing:
        print(f"screenshots: missing {', '.join(missing)} (Debian: apt install xvfb trayer dunst dbus)")
        return 1
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="trayauth-shots-"))
    env = {**os.environ, "DISPLAY": DISPLAY, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    env.pop("QT_QPA_PLATFORM", None)
    env.pop("WAYLAND_DISPLAY", None)
    with contextlib.ExitStack() as stack:
        stack.enter_context(started(["Xvfb", DISPLAY, "-screen", "0", SCREEN, "-nolisten", "tcp"], env, 1.0))
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1", "--nopidfile"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        stack.callback(bus.wait)
        stack.callback(bus.terminate)
        assert bus.stdout is not None
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        stack.enter_context(started(["dunst"], env))
        tray_host = ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request"]
        stack.enter_context(started([*tray_host, "--height", "28", "--SetDockType", "true"], env))
        code = 0
        for scale in ("1", "2"):
            for theme in ("light", "dark"):
                one = {**env, "QT_SCALE_FACTOR": scale, "TRAYAUTH_KEY_STORAGE": "file"}
                # The last run's notification must not show through this run's pictures.
                subprocess.run(["dunstctl", "close-all"], env=env, check=False, capture_output=True)
                result = subprocess.run(
                    [sys.executable, __file__, "--one", str(out), scale, theme],
                    env=one,
                    cwd=REPO,
                    timeout=300,
                    check=False,
                )
                code = code or result.returncode
    shutil.rmtree(home, ignore_errors=True)
    print(f"screenshots: {len(list(out.glob('*.png')))} pictures in {out}")
    return code


def one(out: Path, scale: str, theme: str) -> int:
    """In the Xvfb session: the demo's tray, each view opened and saved."""
    import asyncio

    import qasync
    from PySide6.QtCore import QPoint, QRect, Qt
    from PySide6.QtGui import QGuiApplication, QPalette
    from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget

    from trayauth.demo import ProviderServer
    from trayauth.domain.model import Account
    from trayauth.services.broker import Broker
    from trayauth.ui.qt.session import TraySession
    from trayauth.ui.state import demo as demo_mod
    from trayauth.ui.widgets.actions import confirm_box
    from trayauth.ui.widgets.dialogs.login import LoginDialog
    from trayauth.ui.widgets.icons import app_icon

    app = QApplication(sys.argv[:1])
    app.setStyle(QStyleFactory.create("Fusion"))
    app.setApplicationName("trayauth")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)
    if theme == "dark":
        hints = app.styleHints()
        if hasattr(hints, "setColorScheme"):
            hints.setColorScheme(Qt.ColorScheme.Dark)
        app.setPalette(dark_palette(QPalette))
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    prefix = f"{scale}x-{theme}"
    saved: list[str] = []

    def save(widget: QWidget, name: str) -> None:
        for _ in range(10):
            app.processEvents()
        path = out / f"{prefix}-{name}.png"
        widget.grab().save(str(path))
        saved.append(path.name)

    def screen(name: str, area: QRect) -> None:
        """The part of the screen that shows ``area`` (logical pixels), not a mostly black
        1920x1200 picture."""
        for _ in range(10):
            app.processEvents()
        primary = QGuiApplication.primaryScreen()
        shown = area.intersected(primary.geometry())
        shot = primary.grabWindow(0, shown.x(), shown.y(), shown.width(), shown.height())
        path = out / f"{prefix}-{name}.png"
        shot.save(str(path))
        saved.append(path.name)

    async def pause(seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def run() -> None:
        srv = ProviderServer().start()
        root = Path(tempfile.mkdtemp(prefix="trayauth-shots-config-"))
        os.environ["TRAYAUTH_CONFIG_DIR"] = str(root)
        broker = Broker.open(root)
        demo, ready = demo_mod.prepare(broker, srv)
        await demo_mod.log_in(broker, [a for a in ready if not a.browser], demo_mod.play_browser)
        await demo_mod.log_in(broker, [a for a in ready if a.browser], demo_mod.play_browser)
        session = TraySession(broker, ui="tray", notes=lambda: demo.note)
        await session.start()
        try:
            await pause(1.5)
            tray = session.ui
            # The menu, as a right click opens it, with one account's submenu.
            tray.menu.popup(QPoint(1500, 40))  # type: ignore[union-attr]
            await pause(0.5)
            save(tray.menu, "menu")  # type: ignore[union-attr]
            first = next(iter(tray.account_menu.rows.values()))[0]  # type: ignore[union-attr]
            tray.menu.setActiveAction(first)  # type: ignore[union-attr]
            sub = first.menu()
            sub.popup(QPoint(1500 - sub.sizeHint().width(), 60))
            await pause(0.5)
            full = QGuiApplication.primaryScreen().geometry()
            menus = tray.menu.geometry().united(sub.geometry())  # type: ignore[union-attr]
            # From the submenu's left edge to the screen's right, the tray icon included.
            left = menus.left() - 12
            screen("menu-screen", QRect(left, 0, full.right() - left + 1, menus.bottom() + 12))
            sub.hide()
            tray.menu.hide()  # type: ignore[union-attr]
            session.open_quick()
            await pause(0.5)
            save(session.quick, "quick-access")  # type: ignore[arg-type]
            session.quick.search.setText("sen")  # type: ignore[union-attr]
            await pause(0.3)
            save(session.quick, "quick-access-search")  # type: ignore[arg-type]
            session.quick.hide()  # type: ignore[union-attr]
            add = session.actions.add_account()
            assert isinstance(add, LoginDialog)
            for preset in ("sentiance", "oauth2", "oauth2-device", "sensos", "amino", "bearer"):
                add.select_preset(preset)
                await pause(0.3)
                save(add, f"add-{preset}")
            add.reject()
            login = session.actions.login("amino-demo")
            if login is not None:
                await pause(0.3)
                save(login, "login-again")
                login.reject()
            settings = session.actions.open_settings()
            await pause(0.3)
            save(settings, "settings")
            settings.reject()
            inspect = session.actions.inspect("sentiance-demo")
            if inspect is not None:
                await pause(0.3)
                save(inspect, "inspect")
                inspect.reject()
            session.open_about()
            await pause(0.3)
            save(session.actions.windows["about"], "about")
            session.actions.windows["about"].close()
            # Something to show in Activity: two renewals (and the demo's logins before them).
            session.actions.refresh("amino-demo")
            session.actions.refresh("sensos-demo")
            await pause(1.5)
            session.open_activity()
            await pause(0.3)
            save(session.actions.windows["activity"], "activity")
            session.actions.windows["activity"].close()
            box = confirm_box(
                "Remove account",
                "Remove the account amino-demo? Its tokens and any kept secrets are deleted from "
                "this computer; the provider is not told.",
                "Remove",
            )
            box.show()
            await pause(0.3)
            save(box, "confirm-remove")
            box.close()
            session.notifier.info("Copied sentiance-demo's header", "Sentiance — 2 min left; clears in 60 s")
            await pause(1.0)
            primary = QGuiApplication.primaryScreen()
            full = primary.geometry()
            # dunst shows its notifications at the top right, at its own (unscaled) size.
            ratio = primary.devicePixelRatio()
            width, height = int(520 / ratio), int(200 / ratio)
            screen("notification", QRect(full.right() - width + 1, 0, width, height))
            # Daily scale: 40 accounts. The menu keeps to its recent few plus "All accounts…";
            # quick access lists and scrolls them all.
            for i in range(MANY - len(ready)):
                name = f"api-{i:02d}"
                broker.add(Account(name, "bearer", {}))
                await broker.login(name, {"token": f"pasted-token-{i:02d}-value"})
            session.accounts.reload()
            await pause(0.5)
            tray.menu.popup(QPoint(1500, 40))  # type: ignore[union-attr]
            await pause(0.5)
            save(tray.menu, "menu-many")  # type: ignore[union-attr]
            tray.menu.hide()  # type: ignore[union-attr]
            session.open_quick()
            await pause(0.5)
            save(session.quick, "quick-access-many")  # type: ignore[arg-type]
            session.quick.hide()  # type: ignore[union-attr]
        finally:
            await session.close()
            srv.stop()

    try:
        loop.run_until_complete(run())
    finally:
        loop.close()
    print(f"screenshots {prefix}: {', '.join(saved)}")
    return 0


def dark_palette(palette_type: type) -> object:
    """Fusion's own dark colours, for Qt builds without a colour-scheme switch."""
    from PySide6.QtGui import QColor

    palette = palette_type()
    role = palette_type.ColorRole
    for r, colour in (
        (role.Window, "#353535"),
        (role.WindowText, "#e6e6e6"),
        (role.Base, "#232323"),
        (role.AlternateBase, "#2f2f2f"),
        (role.Text, "#e6e6e6"),
        (role.Button, "#353535"),
        (role.ButtonText, "#e6e6e6"),
        (role.Highlight, "#3d7fd9"),
        (role.HighlightedText, "#ffffff"),
        (role.ToolTipBase, "#353535"),
        (role.ToolTipText, "#e6e6e6"),
        (role.PlaceholderText, "#a0a0a0"),
        (role.Link, "#8ab4f8"),
    ):
        palette.setColor(r, QColor(colour))
    # Greyed-out items (the menu's information lines, a disabled button) must look disabled
    # in dark too: without a Disabled group they read as white as the rest.
    disabled = palette_type.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(disabled, r, QColor("#808080"))
    return palette


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "--one":
        sys.exit(one(Path(sys.argv[2]), sys.argv[3], sys.argv[4]))
    sys.exit(desktop(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "screenshots"))
