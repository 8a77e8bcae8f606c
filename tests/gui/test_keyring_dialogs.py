"""A dismissed or locked keyring is said in the dialog where the user just logged in, and
Settings moves the key into the keyring once one works (item 9 of the tray issue)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keyring
import keyring.core
import pytest
from PySide6.QtWidgets import QLabel, QPushButton

from tests.conftest import FILE_KEYRING
from tests.gui.test_dialogs import login_dialog
from tests.support.keyrings import DismissedKeyring
from tests.support.qt import Rig, Runner, until
from trayauth.storage.store import Store
from trayauth.ui.widgets.dialogs.settings import SettingsDialog


def test_a_dismissed_keyring_is_said_and_settings_moves_the_key_later(
    rig: Rig, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", DismissedKeyring())
    dialog = login_dialog(rig, None)
    dialog.select_preset("bearer")
    assert dialog.name_edit is not None and dialog.form is not None
    dialog.name_edit.setText("pasted")
    dialog.form.edit("token").setText(rig.srv.mint_jwt({"sub": "x", "exp": 4102444800}))
    dialog.start()
    run(until(lambda: dialog.findChild(QLabel, "key_notice") is not None, what="the keyring notice"))
    notice = dialog.findChild(QLabel, "key_notice")
    assert notice is not None and notice.isVisibleTo(dialog)
    assert "the keyring did not take the key" in notice.text()
    assert "KeyringLocked" in notice.text()
    assert dialog.primary.text() == "Close"
    dialog.primary.click()
    assert rig.broker.key_location().fallback

    # The keyring works again: Settings offers to move the key, and moving it keeps the vault open.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FILE_KEYRING)
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    settings = rig.session.actions.open_settings()
    assert isinstance(settings, SettingsDialog)
    button = settings.findChild(QPushButton, "move_key")
    assert button is not None and button.isEnabled()
    button.click()
    assert not button.isEnabled() and "keyring" in button.text()
    assert "system keyring" in settings.key_label.text()
    paths = rig.broker.store.paths
    assert not paths.key_file.exists()
    fresh: Any = Store.open(paths.root)  # a new process's view: the key comes from the keyring
    assert fresh.vault.entry("pasted").tokens is not None
    assert not fresh.vault.key_location().fallback
    settings.reject()


def test_no_move_button_while_the_key_is_in_the_keyring(rig: Rig, isolated: Path) -> None:
    rig.add_bearer("pasted", rig.srv.mint_jwt({"sub": "x", "exp": 4102444800}))
    session = rig.start()
    settings = session.actions.open_settings()
    assert settings.findChild(QPushButton, "move_key") is None
    settings.reject()
