"""One running tray: the parts, wired together, started in order and stopped in reverse.

This module only connects parts (account list, notifier, clipboard, actions, agent socket,
renewal scheduler, tray icon or fallback window); each part's rules live in its own module. Tests
build a session on their own loop and config dir and drive it like a user would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QSystemTrayIcon

from trayauth.domain.errors import TrayauthError
from trayauth.services.agent import AgentServer
from trayauth.services.broker import Broker
from trayauth.services.consent import ConsentGate
from trayauth.services.scheduler import RenewalScheduler
from trayauth.storage.consent import ConsentStore
from trayauth.storage.trust import storage_error
from trayauth.ui import deferred
from trayauth.ui.qt.accounts import AccountList
from trayauth.ui.qt.clipboard import SecretClipboard
from trayauth.ui.qt.notifications import DesktopNotifications
from trayauth.ui.qt.timers import qt_timer
from trayauth.ui.qt.wake import WakeWatcher
from trayauth.ui.state import wording
from trayauth.ui.state.activity import ActivityLog, handout_entries
from trayauth.ui.state.appsettings import AppSettingsCache
from trayauth.ui.state.notifier import COALESCE, Note, Notifier
from trayauth.ui.state.tasks import Tasks
from trayauth.ui.widgets.actions import Actions, ask_confirm, open_in_browser
from trayauth.ui.widgets.consent_asker import ConsentAsker
from trayauth.ui.widgets.tray import Tray

if TYPE_CHECKING:
    from trayauth.ui.widgets.fallback_window import FallbackWindow
    from trayauth.ui.widgets.quick_access import QuickAccess

NO_TRAY_REASON = (
    "Your desktop has no system tray area (plain GNOME needs the AppIndicator extension for "
    "one), so trayauth shows this window instead. Closing it quits trayauth; the CLI keeps "
    "working either way."
)


def tray_available() -> bool:
    return bool(QSystemTrayIcon.isSystemTrayAvailable())


class TraySession:
    def __init__(
        self,
        broker: Broker,
        *,
        ui: str = "auto",
        notes: Callable[[], str | None] = lambda: None,
        open_url: Callable[[str], bool] = open_in_browser,
        confirm: Callable[[str, str], bool] = ask_confirm,
        coalesce: float = COALESCE,
        wake_bus: str | None = None,
        notify_bus: str | bool | None = None,
    ) -> None:
        self.broker = broker
        self.quit_requested = asyncio.Event()
        self.settings = AppSettingsCache(broker.app_settings)
        self.accounts = AccountList(broker, lead=self.settings.notify_lead, clock=broker.clock)
        self.tasks = Tasks(on_error=self._task_failed)
        self.clipboard = SecretClipboard(QGuiApplication.clipboard(), self.settings.clipboard_clear_seconds)
        self.notifier = Notifier(self._show_note, timer=qt_timer, coalesce=coalesce)
        self.scheduler = RenewalScheduler(broker, clock=broker.clock, notify_lead=self.settings.notify_lead)
        self.actions = Actions(
            broker,
            self.accounts,
            self.tasks,
            self.clipboard,
            self.notifier,
            self.settings,
            poke=self.scheduler.poke,
            quit=self.quit_requested.set,
            open_url=open_url,
            confirm=confirm,
            clock=broker.clock,
            quick_access=self.open_quick,
            open_activity=self.open_activity,
            open_about=self.open_about,
        )
        self.accounts.happened.connect(self.notifier.on_event)
        self.activity = ActivityLog(broker.clock)
        self.accounts.happened.connect(self.activity.on_event)
        self.quick: QuickAccess | None = None
        # Accounts set to "Ask before handing out" are given to a program only after the dialog.
        consents = ConsentStore(broker.paths.root)
        self.consent = ConsentGate(consents, asker=ConsentAsker())
        self.activity.add_source(lambda: handout_entries(consents.activity()))
        self.agent = AgentServer(broker, broker.paths.runtime_dir, self.consent, on_pick=self.open_quick)
        self.mode = ui  # "auto": the tray where there is one; "tray" or "window" to choose
        self._notes = notes
        self._key_note: str | None = None
        self.ui: Tray | FallbackWindow | None = None
        self._scheduler_task: asyncio.Task[None] | None = None
        self._wake_bus = wake_bus
        self.wake: WakeWatcher | None = None
        self._notify_bus = notify_bus  # None: the session bus; an address; False: balloons only
        self.desktop: DesktopNotifications | None = None

    # ---- notes shown in the menu / window --------------------------------------------------

    def key_note(self) -> str | None:
        return self._key_note

    def extra_note(self) -> str | None:
        parts = [self.agent.problem, self.settings.problem, self._notes()]
        return " · ".join(p for p in parts if p) or None

    def _show_note(self, note: Note) -> None:
        """The desktop's notification service where there is one, else the tray's balloon;
        the no-tray window also shows it in its status line, where it stays in view."""
        sent = self.desktop is not None and self.desktop.show(note)
        if self.ui is None:
            return
        if not isinstance(self.ui, Tray) or not sent:  # the no-tray window shows it too
            self.ui.show_note(note)

    def _balloon(self, note: Note) -> None:
        """The notification service did not take ``note``: the tray's own balloon shows it."""
        if isinstance(self.ui, Tray):
            self.ui.show_note(note)

    def _note_action(self, note: Note, key: str) -> None:
        """A button on a desktop notification: "Log in" opens the login dialog (the user starts
        the browser there), "Copy header" copies; a click on the note does its first button."""
        name = note.account
        if name is None:
            return
        if key == "default" and note.actions:
            key = note.actions[0][0]
        if key == "login":
            self.actions.login(name)
        elif key == "copy":
            self.actions.copy_header(name)

    # ---- windows the menu opens ---------------------------------------------------------

    def open_quick(self) -> None:
        """Quick access at the tray icon (or near the mouse: ``trayauth pick``, the window).

        Built on its first opening, not at start: its list is the first text the tray lays out,
        and Qt's font database (~5 MiB) then loads for good; a tray nobody opened does without.
        The first opening with 200 accounts stays well within the 50 ms goal (benchmark)."""
        if self.quick is None:
            self.quick = deferred.quick_access()(
                self.accounts, self.actions, default=self.actions.default_name, clock=self.broker.clock
            )
        anchor = self.ui.icon.geometry() if isinstance(self.ui, Tray) else None
        self.quick.open(anchor)

    def open_activity(self) -> None:
        key = "activity"
        window = self.actions.windows.get(key)
        activity_dialog = deferred.activity_dialog()
        if isinstance(window, activity_dialog):
            window.refresh()
            window.raise_()
            window.activateWindow()
            return
        dialog = activity_dialog(self.activity, clock=self.broker.clock)
        self.accounts.happened.connect(dialog.refresh)
        self.actions.track(key, dialog)

    def open_about(self) -> None:
        paths = self.broker.paths
        try:
            location = self.broker.key_location()
            key = location.description
            keyring = "in use" if not location.fallback else "not used: the key is in a file (see Settings)"
        except TrayauthError as exc:
            key, keyring = "unknown", wording.text(exc)
        facts = [
            ("Config", str(paths.config_file)),
            ("Secrets", f"encrypted in {paths.vault_file}"),
            ("Vault key", key),
            ("Keyring", keyring),
            ("Tray socket", self.agent.problem or str(self.agent.path)),
        ]
        self.actions.track("about", deferred.about_dialog()(facts))

    def _task_failed(self, exc: BaseException) -> None:
        """A bug in a UI task: one line to the user and stderr, no traceback (it may hold data)."""
        bug = f"internal error ({exc.__class__.__name__})"
        line = wording.text(exc) if isinstance(exc, TrayauthError) else bug
        print(f"trayauth: {line}", file=sys.stderr)
        self.notifier.info("trayauth", line)

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen for the CLI (raises AlreadyRunning first if another tray has this dir), show
        the icon or the window, then start background renewal."""
        # A tray app lives on after its last dialog closes; quitting is the session's decision.
        QGuiApplication.setQuitOnLastWindowClosed(False)
        try:
            self.broker.paths.ensure_runtime_dir()
        except TrayauthError:
            raise  # another user's folder (UnsafeLocation): already in words
        except OSError as exc:  # a read-only config folder, a full disk
            raise storage_error(exc, "cannot make the tray's socket folder") from None
        await self.agent.start()
        try:
            location = self.broker.key_location()
            if location.fallback:
                self._key_note = f"Secrets: encrypted, key kept in {location.description}"
        except TrayauthError as exc:
            self._key_note = wording.text(exc)
        self.accounts.reload()
        root = self.broker.paths.root
        with contextlib.suppress(OSError):
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.accounts.watch(str(root))
        if self.mode == "tray" or (self.mode == "auto" and tray_available()):
            self.ui = Tray(
                self.accounts,
                self.actions,
                key_note=self.key_note,
                extra_note=self.extra_note,
                clock=self.broker.clock,
            )
        else:
            self.ui = deferred.fallback_window()(
                self.accounts,
                self.actions,
                NO_TRAY_REASON,
                key_note=self.key_note,
                extra_note=self.extra_note,
                clock=self.broker.clock,
            )
        self.ui.show()
        self._scheduler_task = asyncio.get_running_loop().create_task(self.scheduler.run())
        self.wake = WakeWatcher(self._woke, bus=self._wake_bus)
        await self.wake.start()
        if self._notify_bus is not False:
            bus = self._notify_bus if isinstance(self._notify_bus, str) else None
            self.desktop = DesktopNotifications(self._note_action, self._balloon, bus=bus)
            await self.desktop.start()

    def _woke(self) -> None:
        """Back from suspend: what fell due while asleep is renewed now, and the view is redrawn."""
        self.accounts.reload()
        self.scheduler.poke()

    def catch_signals(self) -> None:
        """Ctrl+C and SIGTERM end the tray cleanly (socket removed, clipboard cleared)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.quit_requested.set)

    async def run(self) -> int:
        # Before start: the tray answers on its socket (so looks running) from early in start, and
        # a SIGTERM from then on must end it cleanly too, not by the signal's default action.
        self.catch_signals()
        await self.start()
        try:
            await self.quit_requested.wait()
        finally:
            await self.close()
        return 0

    async def close(self) -> None:
        self.notifier.cancel()
        self.actions.close_windows()
        if self.quick is not None:
            self.quick.dispose()
            self.quick = None
        if self._scheduler_task is not None:
            self._scheduler_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler_task
            self._scheduler_task = None
        await self.tasks.aclose()
        if self.desktop is not None:
            await self.desktop.close()
            self.desktop = None
        if self.wake is not None:
            await self.wake.close()
            self.wake = None
        await self.agent.close()
        self.clipboard.clear_if_unchanged()
        self.accounts.close()
        if self.ui is not None:
            self.ui.dispose()
            self.ui = None
        await self.broker.aclose()
        if os.environ.get("TRAYAUTH_DEBUG"):
            print("trayauth: tray stopped", file=sys.stderr)
