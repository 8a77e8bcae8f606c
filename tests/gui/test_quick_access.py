"""Quick access and a menu that stays a menu: bounded width, a dozen rows, search, keys, and
`trayauth pick` asking the running tray to open it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from tests.gui.test_tray_and_cli import cli, in_thread
from tests.support.qt import Rig, Runner, until
from trayauth.ui.state.quick import MENU_ROWS
from trayauth.ui.widgets.menu import MAX_TEXT_EM
from trayauth.ui.widgets.quick_access import QuickAccess
from trayauth.ui.widgets.tray import Tray


def open_menu(tray: Tray) -> None:
    tray.menu.aboutToShow.emit()


def lines(menu: QMenu) -> list[str]:
    return [a.text() for a in menu.actions() if not a.isSeparator()]


def add_pasted(rig: Rig, names: list[str]) -> None:
    for name in names:
        rig.add_bearer(name, rig.srv.mint_jwt({"sub": name, "exp": 4102444800}))


def test_forty_accounts_a_long_key_path_and_an_error_keep_the_menu_narrow(
    isolated: Path, fresh_provider: Any, run: Runner
) -> None:
    rig = Rig(isolated, fresh_provider, run)
    try:
        long_name = "a-very-long-account-name-for-the-staging-environment-of-project-x"[:64]
        add_pasted(rig, [f"acct-{i:02d}" for i in range(39)] + [long_name])
        rig.add_sentiance("work")
        rig.broker.set_default("work")
        session = rig.start()
        session._key_note = "Secrets: encrypted, key kept in key file " + "/very/long/path" * 12
        tray = session.ui
        assert isinstance(tray, Tray)
        open_menu(tray)
        rows = list(tray.account_menu.rows)
        assert len(rows) == MENU_ROWS
        assert rows[0] == "work"  # the default first
        assert long_name in rows
        texts = lines(tray.menu)
        assert "All accounts (41)…" in texts
        metrics = QFontMetrics(tray.menu.font())
        limit = MAX_TEXT_EM * metrics.averageCharWidth()
        assert all(metrics.horizontalAdvance(t) <= limit for t in texts), texts
        note = next(a for a in tray.menu.actions() if a.text().startswith("Secrets:"))
        assert note.toolTip().endswith("/very/long/path")  # the whole text is one hover away
        # The whole menu is bounded: a line's limit plus the icon, the arrow and the margins.
        assert tray.menu.sizeHint().width() <= limit + 24 * metrics.averageCharWidth()
        # The next item opens quick access with every account.
        next(a for a in tray.menu.actions() if a.text().startswith("All accounts")).trigger()
        assert isinstance(session.quick, QuickAccess) and session.quick.isVisible()
        assert session.quick.tree.topLevelItemCount() == 41
    finally:
        rig.close()


def test_an_error_is_a_hover_away_not_a_menu_line_and_pasted_tokens_offer_no_refresh(
    rig: Rig, run: Runner
) -> None:
    rig.add_sentiance("work")
    add_pasted(rig, ["pasted"])
    rig.srv.inject("sentiance", "auth/token", {"status": 500, "body": "a provider's long complaint " * 20})
    session = rig.start()
    session.actions.refresh("work")
    run(until(lambda: not session.tasks.running("refresh:work")))
    assert session.broker.view("work").error
    tray = session.ui
    open_menu(tray)
    work = tray.account_menu.rows["work"][0].menu()
    assert isinstance(work, QMenu)
    error = session.broker.view("work").error or ""
    assert not any(error in t for t in lines(work))
    problem = next(a for a in work.actions() if a.text().startswith("! The last renewal failed"))
    assert problem.toolTip() == error
    pasted = tray.account_menu.rows["pasted"][0].menu()
    assert isinstance(pasted, QMenu)
    assert "Refresh now" not in lines(pasted)


def test_quick_access_searches_moves_and_copies_with_the_keyboard(rig: Rig, run: Runner) -> None:
    add_pasted(rig, ["alpha", "beta", "gamma-prod", "gamma-staging"])
    rig.broker.set_default("beta")
    session = rig.start()
    session.open_quick()
    quick = session.quick
    assert isinstance(quick, QuickAccess)
    names = [r.name for r in quick.rows]
    assert names[0] == "beta"  # the default first, and said so
    assert "beta's header" in quick.hint.text()
    QTest.keyClicks(quick.search, "gam stag")
    assert [r.name for r in quick.rows] == ["gamma-staging"]
    quick.search.clear()
    QTest.keyClicks(quick.search, "gamma")
    # Most recently used first (each was used when it logged in, gamma-staging last).
    assert [r.name for r in quick.rows] == ["gamma-staging", "gamma-prod"]
    QTest.keyClick(quick.search, Qt.Key.Key_Down)
    selected = quick.selected()
    assert selected is not None and selected.name == "gamma-prod"
    assert not quick.buttons["refresh"].isEnabled()  # a pasted token cannot renew
    QTest.keyClick(quick.search, Qt.Key.Key_Return)
    assert not quick.isVisible()
    token = session.broker.cached_token("gamma-prod")
    assert token is not None
    run(until(lambda: QGuiApplication.clipboard().text() == f"Authorization: Bearer {token.access_token}"))
    run(until(lambda: session.notifier.last is not None and session.notifier.last.title.startswith("Copied")))
    assert session.notifier.last is not None and session.notifier.last.title == "Copied gamma-prod's header"
    session.open_quick()
    QTest.keyClick(quick.search, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    beta = session.broker.cached_token("beta")
    assert beta is not None
    run(until(lambda: QGuiApplication.clipboard().text() == beta.access_token))
    session.open_quick()
    QTest.keyClicks(quick.search, "nothing like it")
    assert quick.empty.isVisible() and "No account matches" in quick.empty.text()
    QTest.keyClick(quick.search, Qt.Key.Key_Escape)
    assert not quick.isVisible()


def test_left_click_opens_quick_access_when_set_so(rig: Rig) -> None:
    add_pasted(rig, ["alpha"])
    rig.broker.store.config.update_app(left_click="quick")
    session = rig.start()
    assert "Left click: quick access" in session.ui.icon.toolTip()
    session.ui.icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    assert isinstance(session.quick, QuickAccess) and session.quick.isVisible()


def test_the_default_copy_target_is_named_in_the_tooltip(rig: Rig) -> None:
    add_pasted(rig, ["alpha", "beta"])
    rig.broker.set_default("beta")
    session = rig.start()
    assert "Left click copies beta's header" in session.ui.icon.toolTip()


def test_trayauth_pick_opens_quick_access_in_the_running_tray(rig: Rig, run: Runner) -> None:
    nobody = run(in_thread(cli, "pick"))
    assert nobody.returncode == 1
    assert nobody.stderr == "trayauth: the tray is not running; start it with 'trayauth'\n"
    add_pasted(rig, ["alpha"])
    session = rig.start()
    proc = run(in_thread(cli, "pick"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    assert isinstance(session.quick, QuickAccess) and session.quick.isVisible()
