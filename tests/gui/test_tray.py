"""The tray as a user meets it: icon state, tooltip, left click, the menu and its actions,
background renewal shown as it happens, notifications once per event."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from tests.support.clock import FakeClock
from tests.support.qt import Rig, Runner, until
from trayauth.domain.model import State
from trayauth.ui.state.present import IconState
from trayauth.ui.widgets.dialogs.login import LoginDialog
from trayauth.ui.widgets.tray import Tray


def submenu(tray: Tray, name: str) -> QMenu:
    action = tray.account_menu.rows[name][0]
    menu = action.menu()
    assert isinstance(menu, QMenu)
    return menu


def item(menu: QMenu, text: str) -> QAction:
    for action in menu.actions():
        if action.text() == text:
            return action
    raise AssertionError(f"no {text!r} in {[a.text() for a in menu.actions()]}")


def open_menu(tray: Tray) -> None:
    tray.menu.aboutToShow.emit()


def clipboard_text() -> str:
    return QGuiApplication.clipboard().text()


def test_left_click_copies_the_default_header_and_says_so(rig: Rig, run: Runner) -> None:
    token = rig.add_sentiance("work")
    session = rig.start()
    tray = session.ui
    assert isinstance(tray, Tray)
    assert tray.state is IconState.OK
    tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    run(until(lambda: clipboard_text().startswith("Authorization: Bearer "), what="the copy"))
    assert clipboard_text() == f"Authorization: Bearer {token}"
    assert tray.last_note is not None
    assert tray.last_note.title == "Copied work's header"
    # A fresh hour-long token: "60 min left" (domain.text.span rounds, as the 5-minute warning
    # must; it used to truncate here, "59 min"), or 59 if the copy took over half a minute.
    assert re.search(r"^Sentiance \(control user\) — (60|59) min left", tray.last_note.text)
    assert token is not None and token not in tray.last_note.text
    assert session.clipboard.holding  # and it will be cleared


def test_left_click_without_an_account_opens_add_account(rig: Rig, run: Runner) -> None:
    session = rig.start()
    assert session.ui.state is IconState.IDLE
    assert "no account yet" in session.ui.icon.toolTip()
    session.ui.icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    dialog = session.actions.windows.get("add")
    assert isinstance(dialog, LoginDialog)
    assert dialog.adding


def test_menu_lists_accounts_actions_and_where_secrets_are(
    isolated: Path, fresh_provider: Any, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAYAUTH_KEY_STORAGE", "file")
    rig = Rig(isolated, fresh_provider, run)
    try:
        rig.add_sentiance("work")
        rig.add_sentiance("staging", login=False)
        rig.broker.set_default("work")
        tray = rig.start().ui
        open_menu(tray)
        texts = tray.account_menu.texts()
        assert texts[0].startswith("work (default) — Sentiance (control user) — expires in 59:")
        assert texts[1] == "staging — Sentiance (control user) — not logged in"
        assert texts[2:4] == ["Add account…", "Settings…"]
        assert texts[4].startswith("Secrets: encrypted, key kept in key file ")
        assert texts[-1] == "Quit trayauth"
        work = [a.text() for a in submenu(tray, "work").actions() if not a.isSeparator()]
        assert work[0].startswith("valid · until ")
        assert work[1:] == [
            "Copy header",
            "Copy token",
            "Refresh now",
            "Inspect…",
            "Log in again…",
            "Default account",
            "Log out",
            "Remove…",
        ]
        staging = submenu(tray, "staging")
        assert staging.actions()[0].text() == "not logged in"
        assert item(staging, "Log in…").isEnabled()
        assert not item(staging, "Copy header").isEnabled()
    finally:
        rig.close()


def test_no_fallback_line_when_the_keyring_holds_the_key(rig: Rig) -> None:
    rig.add_sentiance("work")
    tray = rig.start().ui
    open_menu(tray)
    assert not any(t.startswith("Secrets:") for t in tray.account_menu.texts())


def test_countdown_ticks_only_while_the_menu_is_open(
    isolated: Path, fresh_provider: Any, run: Runner
) -> None:
    clock = FakeClock()
    rig = Rig(isolated, fresh_provider, run, clock=clock)
    try:
        rig.add_sentiance("work")
        tray = rig.start().ui
        assert not tray.account_menu.timer.isActive()
        open_menu(tray)
        assert tray.account_menu.timer.isActive()
        before = tray.account_menu.texts()[0]
        clock.advance(61)
        tray.account_menu.tick()
        after = tray.account_menu.texts()[0]
        assert before != after and "expires in 58:" in after
        tray.menu.aboutToHide.emit()
        assert not tray.account_menu.timer.isActive()
    finally:
        rig.close()


def test_menu_rebuild_sees_what_the_cli_changed(rig: Rig, run: Runner) -> None:
    rig.add_sentiance("work")
    tray = rig.start().ui
    open_menu(tray)
    assert list(tray.account_menu.rows) == ["work"]
    run(rig.broker.remove("work"))  # as `trayauth remove work` in another process would
    rig.add_sentiance("other", login=False)
    open_menu(tray)
    assert list(tray.account_menu.rows) == ["other"]


def test_menu_actions_do_what_they_say(rig: Rig, run: Runner) -> None:
    token = rig.add_sentiance("work")
    rig.add_sentiance("second")
    session = rig.start()
    tray = session.ui
    open_menu(tray)
    item(submenu(tray, "work"), "Copy token").trigger()
    run(until(lambda: clipboard_text() == token, what="the token copy"))

    refreshes = rig.srv.refreshes("sentiance")
    item(submenu(tray, "work"), "Refresh now").trigger()
    run(until(lambda: rig.srv.refreshes("sentiance") == refreshes + 1, what="the refresh"))
    run(until(lambda: tray.last_note is not None and tray.last_note.title == "work renewed"))

    item(submenu(tray, "second"), "Default account").trigger()
    assert rig.broker.default_account() == "second"

    item(submenu(tray, "second"), "Log out").trigger()
    run(until(lambda: rig.broker.view("second").state is State.LOGGED_OUT, what="the logout"))

    open_menu(tray)
    item(submenu(tray, "second"), "Remove…").trigger()
    assert rig.confirmed == ["Remove account"]
    run(until(lambda: [v.name for v in rig.broker.accounts()] == ["work"], what="the removal"))

    rig.confirm_answer = False
    open_menu(tray)
    item(submenu(tray, "work"), "Remove…").trigger()
    assert [v.name for v in rig.broker.accounts()] == ["work"]

    item(submenu(tray, "work"), "Inspect…").trigger()
    assert "inspect:work" in session.actions.windows
    item(submenu(tray, "work"), "Log in again…").trigger()
    assert "login:work" in session.actions.windows

    item(tray.menu, "Quit trayauth").trigger()
    assert session.quit_requested.is_set()


def test_a_failed_refresh_shows_on_the_icon_and_is_told_once(rig: Rig, run: Runner) -> None:
    rig.add_sentiance("work")
    session = rig.start()
    tray = session.ui
    states: list[IconState | None] = []
    session.accounts.changed.connect(lambda: states.append(tray.state))
    rig.srv.inject("sentiance", "auth/token", {"status": 500}, times=3)
    for _ in range(3):
        session.actions.refresh("work")
        run(until(lambda: not session.tasks.running("refresh:work")))
    run(until(lambda: tray.state is IconState.FAILING, what="the failing icon"))
    assert IconState.WORKING in states
    assert "work (Sentiance (control user)): renewal failed" in tray.icon.toolTip()
    run(asyncio.sleep(0.2))  # past the coalescing window
    failures = [n for n in session.notifier.history if n.family == "renew_failed"]
    assert len(failures) == 1
    assert failures[0].account == "work"


def test_background_renewal_is_shown_as_it_happens(isolated: Path, fresh_provider: Any, run: Runner) -> None:
    fresh_provider.set_lifetime("sentiance", 4)  # renewed by the scheduler within the test
    rig = Rig(isolated, fresh_provider, run)
    try:
        rig.add_sentiance("work")
        # The renewed token lives an hour: the icon then stays OK, however slow the machine (with
        # 4 s tokens throughout, a busy machine renews again before the OK icon can be seen).
        fresh_provider.set_lifetime("sentiance", 3600)
        first = rig.broker.view("work").expires_at
        session = rig.start()
        tray = session.ui
        states: list[IconState | None] = []
        session.accounts.changed.connect(lambda: states.append(tray.state))
        run(until(lambda: fresh_provider.refreshes("sentiance") >= 1, what="a background renewal"))
        run(until(lambda: (session.accounts.view("work") or rig.broker.view("work")).expires_at != first))
        run(until(lambda: tray.state is IconState.OK))
        assert IconState.WORKING in states
        assert session.notifier.shown == 0  # a renewal that worked is no news
    finally:
        rig.close()


def test_a_pasted_token_warns_once_then_says_expired_once(
    isolated: Path, fresh_provider: Any, run: Runner
) -> None:
    clock = FakeClock()
    rig = Rig(isolated, fresh_provider, run, clock=clock)
    try:
        exp = int(clock.now) + 3600
        rig.add_bearer("ci", fresh_provider.mint_jwt({"sub": "ci", "exp": exp}))
        session = rig.start()
        tray = session.ui
        clock.now = exp - 120  # inside the default 5-minute warning
        session.accounts.reload()
        for _ in range(5):
            session.scheduler.poke()
            run(asyncio.sleep(0.05))
        run(until(lambda: session.notifier.shown == 1, what="the warning"))
        assert tray.state is IconState.EXPIRING
        assert tray.last_note.title == "ci: token expires soon"
        clock.now = exp + 1
        session.accounts.reload()
        for _ in range(5):
            session.scheduler.poke()
            run(asyncio.sleep(0.05))
        run(until(lambda: session.notifier.shown == 2, what="the expiry"))
        run(asyncio.sleep(0.2))
        assert session.notifier.shown == 2
        assert tray.state is IconState.FAILING
        assert tray.last_note.family == "needs_login"
        assert rig.opened == []  # never a browser from the background
        tray.icon.messageClicked.emit()  # "log in again" opens the dialog, not a browser
        assert "login:ci" in session.actions.windows
        assert rig.opened == []
    finally:
        rig.close()


def test_an_idle_tray_plans_one_wakeup_and_ticks_nothing(rig: Rig, run: Runner) -> None:
    rig.add_sentiance("work")
    session = rig.start()
    tray = session.ui
    reloads = session.accounts.reloads
    run(asyncio.sleep(0.5))
    assert session.accounts.reloads == reloads
    assert not tray.account_menu.timer.isActive()
    assert session.accounts.next_wakeup_planned  # the expiry, an hour away


def test_a_session_without_refresh_token_says_by_when_to_sign_in_again(rig: Rig, run: Runner) -> None:
    """Issue 11 item 2: the account row tells the tray user what `trayauth login` prints."""
    rig.srv.inject("sentiance", "auth/token", "field:refresh_token=null")
    rig.add_sentiance("work")
    view = rig.broker.view("work")
    assert view.sign_in_by is not None and view.sign_in_by == view.expires_at
    session = rig.start()
    open_menu(session.ui)
    texts = [a.text() for a in submenu(session.ui, "work").actions()]
    assert any(t.startswith("! No refresh token: sign in again by ") for t in texts), texts


def test_log_out_tells_what_the_provider_did(rig: Rig, run: Runner) -> None:
    """Issue 11 item 1: the tray says what a logout achieved at the provider (Sentiance has no
    revocation endpoint, so: nothing to revoke there)."""
    rig.add_sentiance("work")
    session = rig.start()
    tray = session.ui
    open_menu(tray)
    item(submenu(tray, "work"), "Log out").trigger()
    run(until(lambda: tray.last_note is not None and tray.last_note.title == "Logged out work"))
    assert tray.last_note is not None
    assert tray.last_note.text == "The local tokens are deleted; nothing to revoke at the provider."


def test_an_expired_pasted_token_is_said_to_be_pasted_everywhere_and_offers_only_what_works(
    isolated: Path, fresh_provider: Any, run: Runner
) -> None:
    """Issue 10's pasted token: it was "log in again", "expired · until 21:25" and "Refresh now".
    Now the menu, quick access, the notification and the window it opens all speak of pasting."""
    clock = FakeClock()
    rig = Rig(isolated, fresh_provider, run, clock=clock)
    try:
        rig.add_bearer("ci", fresh_provider.mint_jwt({"sub": "x", "exp": int(clock.now) + 600}))
        session = rig.start()
        tray = session.ui
        assert isinstance(tray, Tray)
        open_menu(tray)
        fresh = [a.text() for a in submenu(tray, "ci").actions() if not a.isSeparator()]
        assert fresh[0].startswith("Pasted token, expires ")
        tray.menu.aboutToHide.emit()
        clock.advance(700)
        session.scheduler.poke()
        run(until(lambda: any(n.title == "ci: paste a new token" for n in session.notifier.history)))
        note = next(n for n in session.notifier.history if n.account == "ci")
        assert "“Paste a new token…”" in note.text and note.actions == (("login", "Paste a new token"),)
        open_menu(tray)
        menu = submenu(tray, "ci")
        texts = [a.text() for a in menu.actions() if not a.isSeparator()]
        assert texts[0].startswith("Pasted token, expired at ") and "until" not in texts[0]
        assert "Refresh now" not in texts and not any("Log in" in t for t in texts)
        assert not item(menu, "Copy header").isEnabled()
        assert item(menu, "Copy header").toolTip() == "The pasted token expired"
        tray.menu.aboutToHide.emit()
        session.open_quick()
        quick = session.quick
        assert quick.buttons["login"].text() == "Paste a new token…"
        assert not quick.buttons["refresh"].isEnabled() and not quick.buttons["copy_header"].isEnabled()
        assert quick.tree.topLevelItem(0).toolTip(0) == "ci (Any bearer token): pasted token, expired"
        quick.hide()
        item(menu, "Paste a new token…").trigger()
        dialog = session.actions.windows.get("login:ci")
        assert isinstance(dialog, LoginDialog)
        assert dialog.windowTitle() == "Paste a new token — ci — trayauth"
        assert dialog.heading.text().startswith("Paste a new token for ci · ")
        dialog.reject()
        # A left click still copies the default account's header: the answer asks for a new token.
        shown = session.notifier.shown
        tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
        run(until(lambda: session.notifier.shown > shown, what="the copy's answer"))
        answer = session.notifier.last
        assert answer is not None and answer.title == "ci: paste a new token", answer
        assert "paste" in answer.text.lower() and "log in" not in answer.text.lower(), answer.text
    finally:
        rig.close()
