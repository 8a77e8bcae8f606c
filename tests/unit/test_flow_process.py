"""The worker's wire (:mod:`trayauth.services.flow_process`): an error crosses the process boundary
as the same class with the same facts, and anything that is not an answer is judged as a request
that may have been accepted. The worker itself answers garbage with one line, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.cli import REPO
from trayauth.domain import errors
from trayauth.domain.errors import NetworkError, TrayauthError
from trayauth.domain.presets import builtin_dir
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


@pytest.mark.parametrize("out", [b"", b"not json", b"[]", b"{}", b'"text"', b'{"tokens"'])
def test_anything_but_an_answer_is_a_request_that_may_have_been_accepted(out: bytes) -> None:
    with pytest.raises(TrayauthError, match=r"ended without an answer \(.*status -9\)") as caught:
        decode_answer(out, -9)
    assert caught.value.accepted is True  # a rotating refresh token is then treated as spent


def test_an_error_answer_raises_it() -> None:
    out = json.dumps({"error": encode_error(errors.LoginRequired("x", account="w"))}).encode()
    with pytest.raises(errors.LoginRequired, match=r"^w: x$"):
        decode_answer(out, 0)


def test_the_frozen_app_is_its_own_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    assert flow_process.worker_command()[-3:] == ["-m", "trayauth", "--flow-worker"]
    assert "-P" in flow_process.worker_command()  # the tray's working folder is not on its path
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert flow_process.worker_command() == [sys.executable, "--flow-worker"]


@pytest.mark.parametrize(
    "request_text",
    [
        "",
        "not json",
        json.dumps({"op": "refresh"}),
        json.dumps(
            {
                "op": "dance",
                "flow": "oauth_password",
                "now": 0,
                "account": {"name": "a", "preset": "oauth2"},
                "presets": {"builtin": str(builtin_dir())},
            }
        ),
    ],
    ids=["empty", "garbage", "half", "unknown-op"],
)
def test_the_worker_answers_a_bad_request_in_one_line(request_text: str) -> None:
    proc = subprocess.run(
        [*flow_process.worker_command()],
        input=request_text,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=flow_process.worker_env(),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    answer = json.loads(proc.stdout)
    assert set(answer) == {"error"}
    error = decode_error(answer["error"])
    assert error.message and "\n" not in error.message
    if "dance" in request_text:
        assert "cannot do 'dance'" in error.message


def test_the_worker_answers_with_its_own_step_kinds() -> None:
    """A next step built by the worker (a class default) is the same step on the tray's side."""
    back = _round_trip(errors.NetworkError("down"))
    assert back.next_step is not None and back.next_step.kind is StepKind.CHECK_NETWORK
