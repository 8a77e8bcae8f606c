"""The worker's wire (:mod:`trayauth.services.flow_process`): an error crosses the process boundary
as the same class with the same facts, and anything that is not an answer is judged as a request
that may have been accepted. The worker itself answers garbage with one line, never a traceback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import REPO, children
from trayauth.domain import errors
from trayauth.domain.errors import NetworkError, TrayauthError
from trayauth.domain.presets import PresetCatalog, builtin_dir
from trayauth.domain.steps import NextStep, StepKind
from trayauth.services import flow_process
from trayauth.services.flow_process import decode_answer, decode_error, encode_error


def _round_trip(exc: TrayauthError) -> TrayauthError:
    return decode_error(json.loads(json.dumps(encode_error(exc))))


@pytest.mark.parametrize(
    "exc",
    [
        errors.LoginRequired(
            "the refresh token was refused", account="work", next_step=NextStep.log_in("work")
        ),
        errors.CredentialsRejected("work is not logged in", account="work", named=True),
        errors.RateLimited("slow down", sent=False),
        errors.NetworkError("connection reset", account="a: b"),
        errors.ProviderError("no access_token in the answer"),
        errors.UsageError("account 'x' has no 'issuer' setting"),
        errors.StorageError("cannot save the vault"),
        TrayauthError("plain"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_error_comes_back_as_the_same_class_with_the_same_facts(exc: TrayauthError) -> None:
    back = _round_trip(exc)
    assert type(back) is type(exc)
    assert (back.message, back.detail, back.account, back.named) == (
        exc.message,
        exc.detail,
        exc.account,
        exc.named,
    )
    assert back.next_step == exc.next_step
    assert back.accepted is exc.accepted
    if isinstance(exc, NetworkError):
        assert isinstance(back, NetworkError) and back.sent is exc.sent


def test_accepted_travels_with_the_error() -> None:
    exc = errors.ProviderError("the answer was cut off")
    exc.accepted = True
    assert _round_trip(exc).accepted is True


def test_a_class_name_this_side_does_not_know_is_a_plain_error() -> None:
    for name in ("Nonsense", "Exception", "SystemExit", "Path"):
        back = decode_error({"type": name, "detail": "what happened"})
        assert type(back) is TrayauthError and back.message == "what happened"


def test_a_next_step_this_version_does_not_know_is_dropped_not_raised() -> None:
    back = decode_error({"type": "LoginRequired", "detail": "x", "next_step": {"kind": "from-the-future"}})
    assert isinstance(back, errors.LoginRequired) and back.next_step is None


def test_an_error_answer_raises_it() -> None:
    with pytest.raises(errors.LoginRequired, match=r"^w: x$"):
        decode_answer({"error": encode_error(errors.LoginRequired("x", account="w"))})


# A stand-in worker: reads one call, then answers it with whatever the test asks, or not at all.
FAKE_WORKER = """
import json, os, sys
call = json.loads(sys.stdin.readline())
how = os.environ["FAKE_WORKER"]
if how == "garbage":
    print("not json", flush=True)
    print(json.dumps({"id": call["id"] + 1000, "tokens": {}}), flush=True)  # an answer to nothing
elif how == "kill":
    os.kill(os.getpid(), 9)
sys.exit(3)
"""


@pytest.mark.parametrize("how", ["garbage", "kill", "exit"])
def test_a_worker_that_ends_without_answering_is_a_request_that_may_have_been_accepted(
    how: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(flow_process, "worker_command", lambda: [sys.executable, "-c", FAKE_WORKER])
    monkeypatch.setenv("FAKE_WORKER", how)
    flows = flow_process.ProcessFlows(PresetCatalog())

    with pytest.raises(
        TrayauthError, match=r"ended without an answer \(its worker process exited with status -?\d+\)"
    ) as caught:
        asyncio.run(_refresh(flows))
    assert caught.value.accepted is True  # a rotating refresh token is then treated as spent


# The first start shuts its input and says so; later ones answer each call with an error that
# says which start answered.
DEAF_THEN_FINE = """
import json, os, pathlib, sys, time
starts = pathlib.Path(os.environ["FAKE_STARTS"])
n = len(starts.read_text()) + 1 if starts.exists() else 1
starts.write_text("x" * n)
if n == 1 and os.environ.get("FAKE_DEAF"):
    os.close(0)
    pathlib.Path(os.environ["FAKE_SHUT"]).touch()
    time.sleep(60)
for line in sys.stdin:
    call = json.loads(line)
    print(json.dumps({"id": call["id"], "error": {"type": "ProviderError", "detail": str(n)}}), flush=True)
"""


@pytest.fixture
def fake_worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(flow_process, "worker_command", lambda: [sys.executable, "-c", DEAF_THEN_FINE])
    monkeypatch.setenv("FAKE_STARTS", str(tmp_path / "starts"))
    monkeypatch.setenv("FAKE_SHUT", str(tmp_path / "shut"))
    return tmp_path / "shut"


def test_a_worker_that_takes_no_more_calls_is_let_go_and_replaced(
    fake_worker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DEAF", "1")
    flows = flow_process.ProcessFlows(PresetCatalog())

    async def call() -> set[int]:
        try:
            await flows._current()  # the first worker, started ahead of the call
            while not fake_worker.exists():
                await asyncio.sleep(0.01)
            with pytest.raises(errors.ProviderError, match=r"^2$"):
                await flows.run({"op": "refresh"})
            return children("FAKE_STARTS")
        finally:
            await flows.aclose()

    running = asyncio.run(call())
    assert flows.started == 2 and len(running) == 1  # the deaf one was not left behind
    assert not children("FAKE_STARTS")


def test_a_call_that_never_reached_its_worker_goes_to_a_fresh_one(
    fake_worker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sends: list[bool] = []
    real_send = flow_process._Worker.send

    async def lost_once(worker: flow_process._Worker, message: dict[str, object]) -> bool:
        sends.append(bool(sends) and await real_send(worker, message))  # the first is lost
        return sends[-1]

    monkeypatch.setattr(flow_process._Worker, "send", lost_once)
    flows = flow_process.ProcessFlows(PresetCatalog())

    with pytest.raises(errors.ProviderError, match=r"^[12]$"):  # (the first may die before it counts)
        asyncio.run(_refresh(flows))
    assert sends == [False, True] and flows.started == 2


async def _refresh(flows: flow_process.ProcessFlows) -> None:
    """One call through ``flows``, its workers gone after."""
    try:
        await flows.run({"op": "refresh"})
    finally:
        await flows.aclose()


def test_the_frozen_app_is_its_own_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    assert flow_process.worker_command()[-3:] == ["-m", "trayauth", "--flow-worker"]
    assert "-P" in flow_process.worker_command()  # the tray's working folder is not on its path
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert flow_process.worker_command() == [sys.executable, "--flow-worker"]


def test_the_worker_answers_each_call_in_one_line_with_its_id() -> None:
    """Calls it cannot make (half a request, an operation it does not know) are answers too:
    one line each, with the caller's id, and the worker goes on to the next."""
    calls = [
        {"id": 7, "op": "refresh"},
        {
            "id": 8,
            "op": "dance",
            "flow": "oauth_password",
            "now": 0,
            "account": {"name": "a", "preset": "oauth2"},
            "presets": {"builtin": str(builtin_dir())},
        },
    ]
    proc = subprocess.run(
        [*flow_process.worker_command()],
        input="".join(json.dumps(c) + "\n" for c in calls) + "not json\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        env=flow_process.worker_env(),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    answers = {a["id"]: decode_error(a["error"]) for a in map(json.loads, proc.stdout.splitlines())}
    assert set(answers) == {7, 8, None}
    assert all(e.message and "\n" not in e.message for e in answers.values())
    assert "cannot do 'dance'" in answers[8].message


def test_the_worker_answers_with_its_own_step_kinds() -> None:
    """A next step built by the worker (a class default) is the same step on the tray's side."""
    back = _round_trip(errors.NetworkError("down"))
    assert back.next_step is not None and back.next_step.kind is StepKind.CHECK_NETWORK


def test_the_worker_runs_the_trays_own_code_from_a_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """From a checkout, the folder holding ``trayauth`` goes first on the worker's path, before
    what the tray had; from site-packages nothing is added (the interpreter finds it there)."""
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    env = flow_process.worker_env()
    assert env["PYTHONPATH"] == os.pathsep.join((str(REPO), "/elsewhere"))
    monkeypatch.delenv("PYTHONPATH")
    assert flow_process.worker_env()["PYTHONPATH"] == str(REPO)
    for site in ("site-packages", "dist-packages"):
        installed = f"/usr/lib/python3/{site}/trayauth/services/flow_process.py"
        monkeypatch.setattr(flow_process, "__file__", installed)
        assert "PYTHONPATH" not in flow_process.worker_env()


# A worker that takes calls and never answers, writing a line to stderr first.
SILENT_WORKER = """
import sys, time
sys.stderr.write("FAKE_STARTS worker noise\\n"); sys.stderr.flush()
for line in sys.stdin:
    time.sleep(60)
"""


def test_a_call_past_its_limit_takes_the_stuck_worker_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flow_process, "worker_command", lambda: [sys.executable, "-c", SILENT_WORKER])
    flows = flow_process.ProcessFlows(PresetCatalog(), limit=0.2)

    async def call() -> set[int]:
        try:
            with pytest.raises(TrayauthError, match=r"no answer within 0\.2 s") as caught:
                await flows.run({"op": "refresh"})
            assert caught.value.accepted is True
            return children("FAKE_STARTS")
        finally:
            await flows.aclose()

    assert asyncio.run(call()) == set()  # killed at once, not left to finish its minute
    assert flows.calls == 1


NOISY_WORKER = """
import json, sys
sys.stderr.write("worker noise\\n"); sys.stderr.flush()
for line in sys.stdin:
    call = json.loads(line)
    print(json.dumps({"id": call["id"], "error": {"type": "ProviderError", "detail": "x"}}), flush=True)
"""


def test_the_workers_stderr_is_ours_only_with_trayauth_debug(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Its errors are answers; what it writes to stderr (a library's warning) is noise to a user
    of the tray, and a clue with TRAYAUTH_DEBUG set."""
    monkeypatch.setattr(flow_process, "worker_command", lambda: [sys.executable, "-c", NOISY_WORKER])
    for debug, shown in (("", False), ("1", True)):
        monkeypatch.setenv("TRAYAUTH_DEBUG", debug)
        with pytest.raises(errors.ProviderError):  # answered: its noise was written before
            asyncio.run(_refresh(flow_process.ProcessFlows(PresetCatalog())))
        assert ("worker noise" in capfd.readouterr().err) is shown


def test_a_worker_that_cannot_be_started_is_said_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flow_process, "worker_command", lambda: ["/nonexistent/trayauth-worker"])
    flows = flow_process.ProcessFlows(PresetCatalog())
    with pytest.raises(
        TrayauthError, match=r"^could not start a worker process \(No such file or directory\)$"
    ):
        asyncio.run(_refresh(flows))
    assert flows.started == 0


def test_a_call_lost_on_every_worker_is_tried_twice_and_said_unsent(
    fake_worker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def always_lost(worker: flow_process._Worker, message: dict[str, object]) -> bool:
        return False

    monkeypatch.setattr(flow_process._Worker, "send", always_lost)
    flows = flow_process.ProcessFlows(PresetCatalog())
    with pytest.raises(TrayauthError, match="nothing was sent") as caught:
        asyncio.run(_refresh(flows))
    assert caught.value.accepted is False and flows.started == 2 and flows.calls == 0
