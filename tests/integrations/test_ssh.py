"""The laptop's tray used from a remote shell over ``ssh -R``, with a real sshd on loopback.

The "remote machine" is a login through sshd with its own empty trayauth config: every token it
prints can only have come over the forwarded socket from the tray (the test's agent).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integrations import sshd
from tests.integrations.support import TRAYAUTH, Agent, stored_token

pytestmark = pytest.mark.skipif(not sshd.available(), reason="openssh-server is not installed")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[sshd.Sshd]:
    running = sshd.Sshd(Path(f"/tmp/ta-ssh-{tmp_path.name[-12:]}-{id(tmp_path) % 10000}")).start()
    try:
        yield running
    finally:
        running.stop()
        import shutil

        shutil.rmtree(running.dir, ignore_errors=True)


def remote(server: sshd.Sshd, agent: Agent, command: str, stdin: str = "") -> Any:
    """Run ``command`` on the "remote" side with the laptop's agent forwarded and TRAYAUTH_AGENT set."""
    forwarded = str(server.dir / "remote-agent.sock")
    config = server.dir / "remote-config"
    env = (
        f"TRAYAUTH_AGENT={forwarded} TRAYAUTH_CONFIG_DIR={config} PATH={Path(TRAYAUTH).parent}:/usr/bin:/bin"
    )
    return server.run(f"env {env} {command}", forward=(forwarded, agent.socket), stdin=stdin)


def test_remote_commands_ask_the_laptops_tray(api: str, agent: Agent, server: sshd.Sshd) -> None:
    token = stored_token(api)
    before = agent.server.requests
    assert remote(server, agent, f"trayauth token {api}").stdout == token + "\n"
    assert remote(server, agent, f"trayauth header {api}").stdout == f"Authorization: Bearer {token}\n"
    shown = remote(server, agent, f"trayauth exec {api} -- sh -c 'printf %s \"$TRAYAUTH_TOKEN\"'")
    assert shown.returncode == 0 and shown.stdout == token, shown.stderr
    kube = remote(server, agent, f"trayauth kube {api}")
    assert json.loads(kube.stdout)["status"]["token"] == token
    git = remote(
        server, agent, f"trayauth git-credential {api} get", stdin="protocol=https\nhost=example.com\n\n"
    )
    assert git.stdout == f"username=oauth2\npassword={token}\n"
    assert agent.server.requests == before + 5
    remote_files = {p.name for p in (server.dir / "remote-config").rglob("*") if p.is_file()}
    assert remote_files == set()  # no vault, no config: the remote side holds nothing of its own


def test_a_forwarded_agent_that_is_gone_is_a_clear_error(api: str, agent: Agent, server: sshd.Sshd) -> None:
    gone = server.dir / "nobody-here.sock"
    env = f"TRAYAUTH_AGENT={gone} TRAYAUTH_CONFIG_DIR={server.dir / 'remote-config'}"
    result = server.run(f"env {env} {shlex.quote(TRAYAUTH)} exec {api} -- true")
    assert result.returncode == 1
    assert result.stderr == (
        f"trayauth: api: no agent answers at $TRAYAUTH_AGENT ({gone}); "
        "is the tray running and the socket forwarded?\n"
    )


def test_consent_names_a_forwarded_ssh_session(api: str, isolated: Path, server: sshd.Sshd) -> None:
    from trayauth.domain.consent import ConsentQuestion, Decision
    from trayauth.services.consent import ConsentGate
    from trayauth.storage.consent import ConsentStore

    store = ConsentStore(isolated)
    store.set_ask(api, True)
    asked: list[ConsentQuestion] = []

    def asker(question: ConsentQuestion) -> None:
        asked.append(question)
        question.answer(Decision.ALLOW_ONCE)

    running = Agent(ConsentGate(store, asker=asker)).start()
    try:
        result = remote(server, running, f"trayauth token {api}")
    finally:
        running.stop()
    assert result.stdout == stored_token(api) + "\n", result.stderr
    (question,) = asked
    assert question.requester.via_ssh
    assert question.requester.describe() == "a forwarded SSH session (ssh to root@127.0.0.1)"
    assert store.activity()[0].requester.startswith("a forwarded SSH session")
