"""Every dialog the tray shows, built and checked by ``layout_check`` at this process's scale.

    QT_SCALE_FACTOR=2 python -m tests.gui.layout_dialogs

prints one JSON line: the scale, the screen's free logical size, the dialogs checked and the
problems found. The dialogs: Add account for every preset, Log in again for every preset (with
and without its settings shown), the keyring notice after a login whose keyring prompt was
dismissed, Settings (thirty accounts, a long key path, the move-key button), Inspect, About,
Activity, the Remove confirmation and the consent question.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import keyring
from PySide6.QtWidgets import QApplication, QWidget

from tests.gui.layout_check import problems, settle
from tests.support.keyrings import DismissedKeyring
from trayauth.domain.consent import ConsentQuestion, Requester
from trayauth.domain.events import AccountEvent
from trayauth.domain.model import Account, TokenSet
from trayauth.domain.presets import PresetCatalog
from trayauth.domain.tokens import inspect_token
from trayauth.services.broker import Broker
from trayauth.storage.consent import ConsentStore
from trayauth.storage.store import Store
from trayauth.ui.state.activity import ActivityLog
from trayauth.ui.state.tasks import Tasks
from trayauth.ui.widgets.about import AboutDialog
from trayauth.ui.widgets.actions import confirm_box
from trayauth.ui.widgets.activity import ActivityDialog
from trayauth.ui.widgets.consent import ConsentDialog
from trayauth.ui.widgets.dialogs.inspect import InspectDialog
from trayauth.ui.widgets.dialogs.login import LoginDialog
from trayauth.ui.widgets.dialogs.settings import SettingsDialog

# A JWT with a far expiry: pasted as a bearer token, it logs in without any network.
PASTED = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsYXlvdXQiLCJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"


class Checker:
    def __init__(self, app: QApplication) -> None:
        self.app = app
        self.found: list[str] = []
        self.checked: list[str] = []

    def __call__(self, widget: QWidget, where: str) -> None:
        settle(self.app, widget)
        self.found += problems(widget, where)
        self.checked.append(where)


def check_all() -> tuple[list[str], list[str]]:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    check = Checker(app)
    loop = asyncio.new_event_loop()
    keyring.set_keyring(DismissedKeyring())
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "config")
        broker = Broker(store, PresetCatalog(store.paths.presets_dir))
        tasks = Tasks(loop=loop)
        quiet: dict[str, Any] = {"open_url": lambda _u: False, "copy_text": lambda _t: None}

        add = LoginDialog(broker, tasks, account=None, **quiet)
        for preset in add.presets:
            add.select_preset(preset.id)
            check(add, f"Add account / {preset.id}")
        presets = list(add.presets)
        add.reject()

        for preset in presets:
            name = f"acct-{preset.id}"
            plain = [f for f in preset.fields if not f.secret]
            settings = {f.key: "https://example.com" if f.kind == "url" else "x" for f in plain}
            broker.add(Account(name, preset.id, settings))
            again = LoginDialog(broker, tasks, account=name, **quiet)
            check(again, f"Log in again / {preset.id}")
            again._reveal_settings()
            check(again, f"Log in again, settings shown / {preset.id}")
            again.reject()

        # The keyring refused the new vault's key: the dialog says so after a real login.
        pasted = LoginDialog(broker, tasks, account=None, **quiet)
        pasted.select_preset("bearer")
        assert pasted.name_edit is not None and pasted.form is not None
        pasted.name_edit.setText("pasted")
        pasted.form.edit("token").setText(PASTED)
        settle(app, pasted)
        pasted.start()
        assert pasted.task is not None, pasted.error.text()
        loop.run_until_complete(pasted.task)
        assert pasted.error.objectName() == "key_notice", pasted.error.text()
        check(pasted, "Keyring notice after a login")
        pasted.accept()

        names = [f"acct-{p.id}" for p in presets] + [f"team-account-{i:02d}" for i in range(16)]
        long_key = f"key file {store.paths.root}/a/long/path/to/the/vault.key (no keyring here)"
        settings_dialog = SettingsDialog(
            store.config.update_app,
            ConsentStore(store.paths.root),
            names,
            store.config.load().app,
            key_description=long_key,
            move_key=lambda: "the keyring",
        )
        check(settings_dialog, f"Settings ({len(names)} accounts, move-key offered)")
        settings_dialog.reject()

        inspect = InspectDialog(
            "acct",
            "Bearer token (pasted)",
            inspect_token(TokenSet(PASTED, expires_at=None)),
            copy_text=lambda _t: None,
        )
        check(inspect, "Inspect")
        about = AboutDialog(
            [
                ("Config", f"{tmp}/config/config.toml"),
                ("Key", long_key),
                ("Keyring", "refused: the unlock prompt was dismissed"),
            ]
        )
        check(about, "About")
        log = ActivityLog(time.time)
        for i in range(30):
            log.on_event(AccountEvent(f"acct-{i}", "renewed"))
        log.on_event(AccountEvent("amino-work", "renew_failed", "503: the provider is unavailable, retrying"))
        check(ActivityDialog(log), "Activity")
        check(ActivityDialog(ActivityLog(time.time)), "Activity, empty")
        remove = confirm_box(
            "Remove account",
            "Remove the account amino-work? Its tokens and any kept secrets are deleted from this "
            "computer; the provider is not told.",
            "Remove",
        )
        check(remove, "Remove confirmation")
        remove.reject()
        question = ConsentQuestion(
            "amino-work",
            Requester(4242, os.getuid(), "/usr/bin/curl", ("curl", "-H", "@-", "https://example.com")),
            time.time() + 60,
            lambda _d: None,
        )
        consent = ConsentDialog(question)
        check(consent, "Consent question")
        consent.reject()
        loop.run_until_complete(tasks.aclose())
        loop.run_until_complete(broker.aclose())
    loop.close()
    return check.checked, check.found


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    checked, found = check_all()
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    free = app.primaryScreen().availableGeometry()
    report = {
        "scale": os.environ.get("QT_SCALE_FACTOR", "1"),
        "screen": [free.width(), free.height()],
        "checked": checked,
        "problems": found,
    }
    print(json.dumps(report))
