"""Consent end to end: a real tray session, its dialog, and two different programs asking.

The programs are the trayauth CLI (a Python process) and a Perl script speaking the agent's
wire format itself. The tray tells them apart by the kernel's peer credentials and /proc, so
"Always for this program" given to one does not let the other through.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integrations.support import TRAYAUTH
from tests.support.qt import Rig, Runner, until
from trayauth.storage.consent import ConsentStore
from trayauth.ui.widgets.consent import ConsentDialog, ConsentSection

PERL_CLIENT = r"""
use strict; use IO::Socket::UNIX;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0]) or die "connect: $!\n";
print $s qq({"v": 1, "op": "token", "name": "$ARGV[1]"}\n);
my $line = <$s>; print $line;
"""


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRAYAUTH, *argv], capture_output=True, text=True, timeout=120, check=False)


def perl(socket: Path, name: str, script: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["perl", str(script), str(socket), name], capture_output=True, text=True, timeout=120
    )
    return dict(json.loads(out.stdout))


async def in_thread(fn: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def dialogs(session: Any) -> list[ConsentDialog]:
    return list(session.consent.asker.open)


async def answer(session: Any, button: str, qtbot: Any) -> ConsentDialog:
    """Wait for the dialog, check who it names, click ``button``."""
    await until(lambda: dialogs(session), what="a consent dialog")
    (dialog,) = dialogs(session)
    from PySide6.QtCore import Qt

    qtbot.mouseClick(dialog.findChild(type(dialog.deny), button), Qt.MouseButton.LeftButton)
    return dialog


@pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed")
def test_two_programs_asking_for_a_token(rig: Rig, run: Runner, qtbot: Any, tmp_path: Path) -> None:
    token = rig.add_sentiance("work")
    store = ConsentStore(rig.config)
    store.set_ask("work", True)
    session = rig.start()
    sock = Path(session.agent.path)
    script = tmp_path / "ask.pl"
    script.write_text(PERL_CLIENT)

    async def scenario() -> None:
        # 1. The CLI asks; the dialog names the Python program; "Allow once".
        pending = asyncio.ensure_future(in_thread(cli, "token", "work"))
        dialog = await answer(session, "consent_allow_once", qtbot)
        assert os.path.basename(dialog.question.requester.exe).startswith("python")
        assert "trayauth token work" in dialog.question.requester.describe()
        result = await pending
        assert result.returncode == 0 and result.stdout == f"{token}\n", result.stderr
        # 2. Perl asks: another program, asked again; "Always for this program".
        pending = asyncio.ensure_future(in_thread(perl, sock, "work", script))
        dialog = await answer(session, "consent_always", qtbot)
        assert os.path.basename(dialog.question.requester.exe).startswith("perl")
        assert str(script) in dialog.question.requester.program
        assert (await pending)["token"] == token
        # 3. Perl again: remembered, no dialog.
        assert (await in_thread(perl, sock, "work", script))["token"] == token
        assert dialogs(session) == []
        # 4. The CLI again: "once" was once; this time "Deny", and the CLI says so in one line.
        pending = asyncio.ensure_future(in_thread(cli, "exec", "work", "--", "true"))
        await answer(session, "consent_deny", qtbot)
        denied = await pending
        assert denied.returncode == 5
        assert (
            denied.stderr.startswith("trayauth: work: you denied python")
            and len(denied.stderr.splitlines()) == 1
        )
        # 5. Revoked in Settings: Perl is asked again; closing the dialog is Deny.
        section = ConsentSection(store, ["work"])
        assert section.decisions.count() == 1 and "perl" in section.decisions.item(0).text()
        section.decisions.setCurrentRow(0)
        section.revoke_selected()
        assert store.decisions() == []
        pending = asyncio.ensure_future(in_thread(perl, sock, "work", script))
        await until(lambda: dialogs(session), what="a consent dialog after revoking")
        dialogs(session)[0].reject()
        refused = await pending
        assert refused["ok"] is False and "you denied perl" in refused["error"]
        section.reload()
        outcomes = [section.activity.item(i).text().split("  ")[2] for i in range(section.activity.count())]
        assert outcomes == ["denied", "denied", "given", "given", "given"]  # newest first
        section.deleteLater()

    run(scenario(), timeout=120)


def test_silence_is_deny_and_the_dialog_goes(rig: Rig, run: Runner) -> None:
    rig.add_sentiance("work")
    ConsentStore(rig.config).set_ask("work", True)
    session = rig.start()
    session.consent.timeout = 1.0

    async def scenario() -> None:
        pending = asyncio.ensure_future(in_thread(cli, "token", "work"))
        await until(lambda: dialogs(session), what="a consent dialog")
        result = await pending
        assert result.returncode == 5 and "nobody answered the tray's question in 1 s" in result.stderr
        await until(lambda: not dialogs(session), what="the dialog to close")

    run(scenario(), timeout=60)


def test_accounts_that_do_not_ask_are_handed_out_and_logged(rig: Rig, run: Runner) -> None:
    token = rig.add_sentiance("work")
    session = rig.start()
    result = run(in_thread(cli, "token", "work"))
    assert result.stdout == f"{token}\n"
    assert dialogs(session) == []
    (entry,) = ConsentStore(rig.config).activity()
    assert entry.account == "work" and entry.outcome == "given" and "trayauth token work" in entry.requester


def test_settings_shows_the_consent_section(rig: Rig, qtbot: Any) -> None:
    from trayauth.storage.config import AppSettings
    from trayauth.ui.widgets.dialogs.settings import SettingsDialog

    rig.add_sentiance("work", login=False)
    dialog = SettingsDialog(rig.broker.update_app, ConsentStore(rig.config), ["work"], AppSettings())
    qtbot.addWidget(dialog)
    box = dialog.consent.asks["work"]
    assert not box.isChecked()
    box.setChecked(True)
    assert ConsentStore(rig.config).asks("work")
    box.setChecked(False)
    assert not ConsentStore(rig.config).asks("work")


def test_without_a_tray_an_asking_account_is_refused(rig: Rig) -> None:
    rig.add_sentiance("work")
    ConsentStore(rig.config).set_ask("work", True)
    for argv in (("token", "work"), ("exec", "work", "--", "true"), ("kube", "work")):
        result = cli(*argv)
        assert result.returncode == 5
        assert result.stderr == (
            "trayauth: work asks before handing out its token, and only the tray can ask; "
            "start the tray ('trayauth'), then try again\n"
        )
