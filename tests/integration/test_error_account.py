"""Errors say which account they are about as data (``exc.account``), not by the name's place in
their text: an account whose name is a word of the message ("unknown", "a") still gets named,
on the CLI's line, on the tray's socket and on the account's recorded error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.clock import FakeClock, Sleeps
from trayauth.cli.wording import line, renewal_warning_of
from trayauth.demo import ProviderServer
from trayauth.domain.errors import LoginRequired, NetworkError, TrayauthError, UsageError
from trayauth.domain.model import Account, TokenSet
from trayauth.domain.presets import PresetCatalog
from trayauth.net.http import HttpPolicy
from trayauth.services.agent import AgentServer
from trayauth.services.broker import Broker
from trayauth.storage.store import Store


def test_an_error_about_an_account_names_it_once() -> None:
    exc = UsageError("the base_url is not https", account="work")
    assert (exc.account, exc.detail, exc.message, str(exc)) == (
        "work",
        "the base_url is not https",
        "work: the base_url is not https",
        "work: the base_url is not https",
    )
    # A message that names the account in its own words is not prefixed again.
    named = LoginRequired("work is not logged in", account="work", named=True)
    assert named.message == "work is not logged in" and named.account == "work"
    # The caller that knows the account attaches it to an error raised without one...
    bare = NetworkError("cannot connect to https://work.example/token")
    assert bare.account is None and bare.about("work") is bare
    assert bare.message == "work: cannot connect to https://work.example/token"
    # ...but never overrides the account an error already carries.
    assert named.about("other").message == "work is not logged in" and named.account == "work"


def test_the_cli_names_an_account_whose_name_starts_the_message(isolated: Path) -> None:
    """Text matching saw "unknown" at the start of "unknown preset ..." and left the name out."""
    result = run_cli("add", "unknown", "no-such-preset")
    assert result.code == 2
    assert result.err == "trayauth: unknown: unknown preset 'no-such-preset'; see 'trayauth providers'\n"


def test_the_fast_path_names_an_account_whose_name_is_in_the_message(isolated: Path) -> None:
    """The exec fast path looked for the name anywhere in the line: "a" is in almost any line."""
    result = run_cli("exec", "a", "--env", "1BAD", "--", "true")
    assert result.code == 2
    assert result.err.startswith("trayauth: a: --env '1BAD' is not a variable name")


class _Unreachable:
    """A broker whose provider cannot be reached: the network layer's error names no account."""

    async def token(self, name: str) -> TokenSet:
        raise NetworkError(f"cannot connect to https://{name}.test/token")


@pytest.mark.asyncio
async def test_the_tray_socket_names_the_account_of_an_error_without_one(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    server = AgentServer(_Unreachable(), runtime)  # type: ignore[arg-type]
    reply = await server.answer(b'{"op": "token", "name": "a"}')
    assert reply["error"] == "a: cannot connect to https://a.test/token"
    assert reply["next"] == {"kind": "check_network"} and reply["exit_code"] == 4


@pytest.mark.asyncio
async def test_a_recorded_renewal_failure_names_its_account(
    isolated: Path, fresh_provider: ProviderServer
) -> None:
    """The renewal attaches the account to a network error before recording it, so the account's
    error and the warning beside the old token name it, whatever the account is called."""
    srv, clock = fresh_provider, FakeClock()
    broker = Broker(
        Store.open(isolated), PresetCatalog(), http=HttpPolicy(sleep=Sleeps(), clock=clock), clock=clock
    )
    try:
        user = srv.users["sentiance"]
        broker.add(
            Account("a", "sentiance", {"base_url": srv.base_url("sentiance"), "username": user["username"]})
        )
        old = await broker.login("a", {"password": user["password"]})
        expires_at = broker.view("a").expires_at
        assert expires_at is not None
        clock.now = expires_at - 30  # inside the margin, still valid
        srv.inject("sentiance", "auth/token", "reset", times=10)
        assert (await broker.token("a")).access_token == old.access_token
        view = broker.view("a")
        assert view.error is not None and view.error.startswith("a: ")
        warning = renewal_warning_of(view.error, view.next_step, expired=False)
        assert warning.startswith("a: ") and not warning.startswith("a: a: ")
        with pytest.raises(TrayauthError) as failed:
            await broker.refresh("a")
        assert failed.value.account == "a" and line(failed.value).startswith("a: ")
    finally:
        await broker.aclose()
