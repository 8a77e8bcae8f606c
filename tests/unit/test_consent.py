"""Consent's plain parts: who a requester is, the decisions store, the gate's rules."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from trayauth.domain.consent import ConsentDenied, ConsentQuestion, Decision, Requester
from trayauth.services.consent import ConsentGate
from trayauth.services.peer import describe_pid
from trayauth.storage.consent import ConsentStore


def test_program_keys() -> None:
    py = Requester(1, 0, "/usr/bin/python3.11", ("python3", "-m", "trayauth", "token", "a"))
    assert py.program == "/usr/bin/python3.11 -m trayauth"
    script = Requester(1, 0, "/usr/bin/perl", ("perl", "-w", "/home/me/ask.pl", "x"))
    assert script.program == "/usr/bin/perl /home/me/ask.pl"
    binary = Requester(1, 0, "/usr/bin/kubectl", ("kubectl", "get", "pods"))
    assert binary.program == "/usr/bin/kubectl"
    assert binary.describe() == "/usr/bin/kubectl (pid 1): kubectl get pods"
    ssh = Requester(9, 0, "/usr/bin/ssh", ("ssh", "-p", "2222", "-R", "/r:/l", "-NT", "me@devbox", "ls"))
    assert ssh.via_ssh and ssh.describe() == "a forwarded SSH session (ssh to me@devbox)"
    assert ssh.program.startswith("ssh: ")
    unknown = Requester(None, None)
    assert unknown.program == "" and unknown.describe() == "an unknown program"


def test_describe_pid_reads_proc() -> None:
    import os

    me = describe_pid(os.getpid(), os.getuid())
    assert me.exe and os.path.basename(me.exe).startswith("python") and me.cmdline


def test_always_needs_a_program() -> None:
    got: list[Decision] = []
    q = ConsentQuestion("a", Requester(None, None), 0.0, got.append)
    assert not q.can_always
    q.answer(Decision.ALWAYS)
    assert got == [Decision.ALLOW_ONCE]


def test_store_round_trip_and_fail_closed(tmp_path: Path) -> None:
    store = ConsentStore(tmp_path)
    assert not store.asks("a")
    store.set_ask("a", True)
    store.remember("a", "/usr/bin/x", "x (pid 1)")
    store.remember("a", "/usr/bin/x", "x (pid 2)")  # the same program once
    assert store.asks("a") and store.allowed("a", "/usr/bin/x") and not store.allowed("b", "/usr/bin/x")
    assert [d.label for d in store.decisions()] == ["x (pid 2)"]
    store.revoke("a")
    assert store.decisions() == []
    store.file.write_text("{not json")
    assert store.asks("anything")  # unreadable: everything asks
    store.set_ask("a", False)  # the next change rewrites it
    assert not store.asks("anything")
    assert oct(store.file.stat().st_mode & 0o777) == "0o600"


def test_activity_never_holds_a_token(tmp_path: Path) -> None:
    store = ConsentStore(tmp_path)
    store.record("a", "/usr/bin/x (pid 1)", "given", "always")
    (entry,) = store.activity()
    assert (entry.account, entry.outcome, entry.how) == ("a", "given", "always")
    assert set(store.log_file.read_text().split('"')) >= {"account", "requester", "outcome"}


def test_gate_rules(tmp_path: Path) -> None:
    store = ConsentStore(tmp_path)
    asked: list[ConsentQuestion] = []
    gate = ConsentGate(store, asker=asked.append, timeout=5)
    me = Requester(1, 0, "/usr/bin/tool", ("tool",))

    async def main() -> None:
        assert await gate.check("a", me) == ""  # does not ask
        store.set_ask("a", True)
        # A burst from one program shares one question.
        waiting = [asyncio.ensure_future(gate.check("a", me)) for _ in range(3)]
        await asyncio.sleep(0)
        assert len(asked) == 1
        asked[0].answer(Decision.ALWAYS)
        assert await asyncio.gather(*waiting) == ["always"] * 3
        assert asked[0].finished
        assert await gate.check("a", me) == "always"  # remembered: not asked again
        assert len(asked) == 1
        other = Requester(2, 0, "/usr/bin/other", ("other",))
        pending = asyncio.ensure_future(gate.check("a", other))
        await asyncio.sleep(0)
        asked[1].answer(Decision.DENY)
        with pytest.raises(ConsentDenied, match="you denied other"):
            await pending

    asyncio.run(main())
    assert [h.outcome for h in store.activity()] == ["denied"]


def test_no_asker_refuses(tmp_path: Path) -> None:
    store = ConsentStore(tmp_path)
    store.set_ask("a", True)
    gate = ConsentGate(store)
    with pytest.raises(ConsentDenied, match="no window to ask in"):
        asyncio.run(gate.check("a", Requester(1, 0, "/x", ())))


def test_a_process_that_hides_its_exe_is_named_by_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """ssh makes itself non-dumpable: another process of the same user cannot read its exe."""
    import os
    import subprocess
    import sys

    child = subprocess.Popen(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "up\n"  # running, not exec'ing
        real = os.readlink

        def refuse(path: str) -> str:
            if path == f"/proc/{child.pid}/exe":
                raise PermissionError(13, "Permission denied")
            return real(path)

        monkeypatch.setattr(os, "readlink", refuse)
        who = describe_pid(child.pid, os.getuid())
    finally:
        child.kill()
        child.wait()
        child.stdout.close()  # type: ignore[union-attr]
    assert who.exe == "" and who.name.startswith("python") and who.cmdline[1] == "-c"
    assert who.program == ""  # nothing trustworthy to remember: no "always"
    assert who.describe().startswith(f"{who.name} (pid {child.pid}): ")
    ssh = Requester(5, 0, "", ("ssh", "-R", "/a:/b", "devbox"), name="ssh")
    assert ssh.via_ssh and ssh.describe() == "a forwarded SSH session (ssh to devbox)" and ssh.program
