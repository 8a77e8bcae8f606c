"""Activity and About: what happened, newest first (renewals, failures, logins, and which
program got a token from the agent), and where everything is kept."""

from __future__ import annotations

from tests.gui.test_tray_and_cli import cli, in_thread
from tests.support.qt import Rig, Runner, until
from trayauth.ui.widgets.about import AboutDialog
from trayauth.ui.widgets.activity import ActivityDialog


def test_activity_lists_renewals_failures_and_hand_outs_newest_first(rig: Rig, run: Runner) -> None:
    rig.add_sentiance("work")
    session = rig.start()
    rig.srv.inject("sentiance", "auth/token", {"status": 500, "body": "boom"})
    session.actions.refresh("work")
    run(until(lambda: not session.tasks.running("refresh:work")))
    session.actions.refresh("work")
    run(until(lambda: not session.tasks.running("refresh:work")))
    proc = run(in_thread(cli, "header", "work"))
    assert proc.returncode == 0, proc.stderr
    session.open_activity()
    dialog = session.actions.windows["activity"]
    assert isinstance(dialog, ActivityDialog)
    rows = [
        [dialog.tree.topLevelItem(i).text(c) for c in range(4)]  # type: ignore[union-attr]
        for i in range(dialog.tree.topLevelItemCount())
    ]
    whats = [r[2] for r in rows]
    assert whats[0] == "token handed out", rows
    assert rows[0][1] == "work" and rows[0][3].startswith("to ")
    assert whats.index("renewed") < whats.index("renewal failed"), rows  # newest first
    failed = rows[whats.index("renewal failed")]
    assert "500" in failed[3]
    # It follows what happens while it is open.
    session.actions.logout("work")
    run(until(lambda: dialog.tree.topLevelItem(0).text(2) == "logged out", what="the logout line"))  # type: ignore[union-attr]


def test_about_says_where_things_are_and_whether_the_keyring_holds_the_key(rig: Rig) -> None:
    session = rig.start()
    session.open_about()
    dialog = session.actions.windows["about"]
    assert isinstance(dialog, AboutDialog)
    paths = rig.broker.store.paths
    assert dialog.values["Config"].text() == str(paths.config_file)
    assert str(paths.vault_file) in dialog.values["Secrets"].text()
    assert dialog.values["Vault key"].text()
    assert dialog.values["Keyring"].text()
    assert "PySide6" in dialog.values["Qt"].text()
