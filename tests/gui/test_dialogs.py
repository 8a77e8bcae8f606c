"""Dialogs generated from preset schemas, driven like a user would, against the provider server."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QLineEdit, QPushButton

from tests.support.qt import Rig, Runner, until
from trayauth.domain.model import State
from trayauth.domain.presets import PresetCatalog
from trayauth.storage.config import AppSettings
from trayauth.storage.consent import ConsentStore
from trayauth.ui.widgets.dialogs.fields import FieldForm
from trayauth.ui.widgets.dialogs.inspect import InspectDialog
from trayauth.ui.widgets.dialogs.login import LoginDialog
from trayauth.ui.widgets.dialogs.settings import SettingsDialog
from trayauth.ui.widgets.dialogs.signin import BrowserSignInPanel, DeviceCodePanel


def login_dialog(rig: Rig, name: str | None) -> LoginDialog:
    session = rig.session or rig.start()
    dialog = session.actions.add_account() if name is None else session.actions.login(name)
    assert isinstance(dialog, LoginDialog)
    dialog.results = []  # type: ignore[attr-defined]
    dialog.finished.connect(dialog.results.append)  # type: ignore[attr-defined]
    return dialog


def accepted(dialog: LoginDialog) -> bool:
    """The dialog closed with success (it is deleted right after, so ask its record)."""
    return dialog.results == [QDialog.DialogCode.Accepted.value]  # type: ignore[attr-defined]


@pytest.mark.parametrize("preset_id", PresetCatalog().ids())
def test_every_preset_makes_a_form_with_masked_secrets(qapp: Any, preset_id: str) -> None:
    preset = PresetCatalog().get(preset_id)
    form = FieldForm(preset.fields)
    assert list(form.rows) == [f.key for f in sorted(preset.fields, key=lambda f: f.secret)]
    for field in preset.fields:
        edit = form.edit(field.key)
        masked = edit.echoMode() == QLineEdit.EchoMode.Password
        assert masked == field.secret, field.key
        if not field.secret:
            assert edit.text() == field.default
    form.deleteLater()


def test_secret_reveal_toggle(qapp: Any) -> None:
    form = FieldForm(PresetCatalog().get("senseye").fields)
    row = form.rows["password"]
    row.reveal.toggle()
    assert row.edit.echoMode() == QLineEdit.EchoMode.Normal
    row.reveal.toggle()
    assert row.edit.echoMode() == QLineEdit.EchoMode.Password


def test_required_fields_and_plain_http_are_caught_inline(rig: Rig) -> None:
    dialog = login_dialog(rig, None)
    dialog.select_preset("sentiance")
    dialog.form.edit("base_url").setText("http://api.example.com")
    dialog.start()
    assert not dialog.busy
    assert dialog.name_error.text() == "Give the account a name"
    assert dialog.form.rows["username"].error.text() == "Email is required"
    assert dialog.form.rows["password"].error.text() == "Password is required"
    assert "plain http" in dialog.form.rows["base_url"].error.text()
    assert rig.broker.accounts() == []


def test_add_account_and_log_in(rig: Rig, run: Runner) -> None:
    dialog = login_dialog(rig, None)
    dialog.select_preset("sentiance")
    user = rig.srv.users["sentiance"]
    dialog.name_edit.setText("work")
    dialog.form.edit("base_url").setText(rig.srv.base_url("sentiance"))
    dialog.form.edit("username").setText(user["username"])
    dialog.form.edit("password").setText(user["password"])
    dialog.start()
    assert dialog.busy and dialog.busy_row.isVisibleTo(dialog)
    run(until(lambda: accepted(dialog), what="the login"))
    view = rig.broker.view("work")
    assert view.state is State.VALID
    assert rig.session.ui.last_note.title == "Logged in to work"
    settings = rig.broker.account("work")[0].settings
    assert "password" not in settings  # secrets never reach the config file


def test_wrong_password_is_shown_inline_and_cancel_leaves_nothing(rig: Rig, run: Runner) -> None:
    dialog = login_dialog(rig, None)
    dialog.select_preset("senseye")
    dialog.name_edit.setText("ops")
    dialog.form.edit("base_url").setText(rig.srv.base_url("senseye"))
    dialog.form.edit("username").setText(rig.srv.users["senseye"]["username"])
    dialog.form.edit("password").setText("not-the-password")
    dialog.start()
    run(until(lambda: not dialog.busy, what="the answer"))
    assert dialog.error.isVisibleTo(dialog)
    assert "401" in dialog.error.text()
    assert "not-the-password" not in dialog.error.text()
    assert dialog.primary.isEnabled()
    assert [v.name for v in rig.broker.accounts()] == ["ops"]  # written for the attempt …
    dialog.cancel()
    run(until(lambda: rig.broker.accounts() == [], what="the removal"))  # … and taken back by Cancel


def test_cancel_while_busy_cancels_the_login_task(rig: Rig, run: Runner) -> None:
    srv = rig.srv
    rig.add(
        "app",
        "sensos",
        {
            "base_url": srv.base_url("sensos"),
            "tenant_id": srv.users["sensos"]["tenant_id"],
            "application_id": srv.users["sensos"]["application_id"],
        },
    )
    srv.inject("sensos", "v1/applications/token", "delay:5")
    dialog = login_dialog(rig, "app")
    dialog.form.edit("application_secret").setText(srv.users["sensos"]["application_secret"])
    dialog.start()
    run(until(lambda: rig.session.accounts.busy == {"app"}))
    task = dialog.task
    dialog.cancel()
    run(until(lambda: task.done(), what="the cancelled task"))
    assert task.cancelled()
    assert not dialog.busy and not dialog.busy_row.isVisibleTo(dialog)
    assert dialog.error.text() == "Cancelled."
    assert dialog.isVisible()  # still open, ready for another try
    assert rig.broker.view("app").state is State.LOGGED_OUT
    assert rig.session.accounts.busy == set()


def test_logging_in_again_shows_only_the_secret_until_asked(rig: Rig) -> None:
    rig.add_sentiance("work")
    dialog = login_dialog(rig, "work")
    assert not dialog.form.settings_visible()
    assert dialog.settings_toggle.isVisibleTo(dialog)
    dialog.settings_toggle.click()
    assert dialog.form.settings_visible()
    assert dialog.form.edit("username").text() == rig.srv.users["sentiance"]["username"]


def add_oauth(rig: Rig, name: str = "sso", preset: str = "oauth2") -> None:
    rig.add(name, preset, {"issuer": rig.srv.issuer, "client_id": rig.srv.users["oauth"]["public_client_id"]})


def test_browser_sign_in_by_pasting_the_redirect(rig: Rig, run: Runner) -> None:
    add_oauth(rig)
    dialog = login_dialog(rig, "sso")
    assert dialog.primary.text() == "Sign in with browser"
    dialog.start()
    run(until(lambda: isinstance(dialog.panel, BrowserSignInPanel), what="the sign-in panel"))
    panel = dialog.panel
    assert isinstance(panel, BrowserSignInPanel)
    assert len(rig.opened) == 1  # the system browser, once
    assert panel.url.text() == rig.opened[0]
    assert panel.countdown.text().startswith("Time left for the sign-in: 4:5")
    panel.redirect.setText("http://127.0.0.1:9/callback?code=x&state=forged")
    panel.submit()
    assert panel.error.isVisibleTo(panel)
    assert "state" in panel.error.text()
    # The browser could not reach the loopback: the user copies where it ended up.
    answer = httpx.get(rig.opened[0], follow_redirects=False)
    assert answer.status_code == 302
    panel.redirect.setText(answer.headers["location"])
    panel.submit()
    run(until(lambda: accepted(dialog), what="the sign-in"))
    assert rig.broker.view("sso").state is State.VALID
    assert len(rig.opened) == 1


def test_device_code_shows_the_code_and_finishes_when_approved(rig: Rig, run: Runner) -> None:
    rig.srv.settings.device_interval = 1
    add_oauth(rig, "tv", "oauth2-device")
    dialog = login_dialog(rig, "tv")
    assert dialog.primary.text() == "Get a sign-in code"
    dialog.start()
    run(until(lambda: isinstance(dialog.panel, DeviceCodePanel), what="the code"))
    panel = dialog.panel
    code = panel.code.text()
    assert code and code == panel.question.user_code
    verify = dialog.findChild(type(panel.code), "verification_uri")
    assert rig.srv.base_url("oauth") in verify.text()
    rig.srv.approve_device(code)
    run(until(lambda: accepted(dialog), what="approval"))
    assert rig.broker.view("tv").state is State.VALID


def test_inspect_shows_claims_and_copies_them(rig: Rig, run: Runner) -> None:
    user = rig.srv.users["senseye"]
    rig.add("ops", "senseye", {"base_url": rig.srv.base_url("senseye"), "username": user["username"]})
    run(rig.broker.login("ops", {"password": user["password"]}))
    session = rig.start()
    dialog = session.actions.inspect("ops")
    assert isinstance(dialog, InspectDialog)
    assert dialog.fields["kind"].text() == "JWT (decoded, not verified)"
    assert dialog.fields["subject"].text() == user["username"]
    assert "(in 23h5" in dialog.fields["expires"].text()  # a day's token, read a moment ago
    assert '"sub": "demo@senseye.test"' in dialog.claims_text.toPlainText()
    assert '"alg"' in dialog.header_text.toPlainText()
    copy = dialog.findChild(QPushButton, "copy_claims")
    assert copy is not None
    copy.click()
    assert '"sub": "demo@senseye.test"' in QGuiApplication.clipboard().text()


def test_inspect_a_paseto_machine_token(rig: Rig, run: Runner) -> None:
    token = rig.srv.mint_paseto(
        {"sub": "machine-7", "exp": "2099-01-01T00:00:00+00:00", "scope": "read write"}
    )
    rig.add("machine", "senseye-machine", {})
    run(rig.broker.login("machine", {"token": token}))
    session = rig.start()
    dialog = session.actions.inspect("machine")
    assert dialog.fields["kind"].text().startswith("PASETO v4.public")
    assert dialog.fields["scopes"].text() == "read write"
    assert token not in dialog.claims_text.toPlainText()


def test_settings_are_saved_to_the_config_and_autostart_is_called(rig: Rig, tmp_path: Path) -> None:
    rig.add_sentiance("work", login=False)
    rig.add_sentiance("ci", login=False)
    calls: list[str] = []
    fake = types.SimpleNamespace(
        is_enabled=lambda: False,
        enable=lambda: calls.append("enable"),
        disable=lambda: calls.append("disable"),
    )
    saved: list[AppSettings] = []
    dialog = SettingsDialog(
        rig.broker.update_app,
        ConsentStore(rig.broker.paths.root),
        ["work", "ci"],
        AppSettings(notify_lead_seconds=90),
        autostart=fake,  # type: ignore[arg-type]
        on_saved=saved.append,
    )
    assert dialog.lead_spin.value() == 1
    dialog.default_box.setCurrentIndex(dialog.default_box.findData("ci"))
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("Bearer {token}"))
    dialog.clear_spin.setValue(15)
    dialog.autostart_box.setChecked(True)
    dialog.save()
    app = rig.broker.store.config.load().app
    assert app.default == "ci"
    assert app.header_format == "Bearer {token}"
    assert app.clipboard_clear_seconds == 15
    assert app.notify_lead_seconds == 90  # untouched, so not rounded to whole minutes
    assert app.autostart is True
    assert calls == ["enable"]
    assert saved and saved[0].default == "ci"


def test_settings_change_what_left_click_copies(rig: Rig, run: Runner) -> None:
    token = rig.add_sentiance("work")
    rig.broker.store.config.update_app(header_format="Bearer {token}", clipboard_clear_seconds=0)
    session = rig.start()
    session.actions.copy_default()
    run(until(lambda: QGuiApplication.clipboard().text() == f"Bearer {token}", what="the copy"))
    assert not session.clipboard.holding  # 0: never cleared


def test_a_user_preset_in_place_of_a_built_in_one_is_said_in_the_dialog(rig: Rig) -> None:
    """A planted preset could send the password elsewhere: the dialog says whose preset it is."""
    from trayauth.domain.presets import builtin_dir

    presets = rig.config / "presets"
    presets.mkdir(parents=True, mode=0o700, exist_ok=True)
    own = presets / "sentiance.toml"
    own.write_text((builtin_dir() / "sentiance.toml").read_text())
    own.chmod(0o600)
    rig.add_sentiance("work")
    dialog = login_dialog(rig, "work")
    text = dialog.description.text()
    assert dialog.description.isVisibleTo(dialog)
    assert f"Your own preset file {own} is used in place of the built-in one." in text
