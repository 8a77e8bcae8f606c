"""The tray's renewals and logouts call the provider from a worker process
(``Broker(in_workers=True)``, :mod:`trayauth.services.flow_process`), against the real local
provider: the tray then never loads the HTTP stack, and every rule of renewal still holds, because
only the network call moved. The worker is the real one (``python -m trayauth --flow-worker``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.support.cli import children
from tests.support.clock import FakeClock
from tests.support.probe import report, run_probe
from trayauth.demo import ProviderServer
from trayauth.domain.errors import LoginRequired, NetworkError, TrayauthError
from trayauth.domain.model import Account
from trayauth.domain.presets import PresetCatalog
from trayauth.domain.steps import StepKind
from trayauth.faultpoints import ENV as KILL_AT
from trayauth.protocol.revocation import Revocation
from trayauth.services.broker import Broker
from trayauth.storage.store import Store

PUBLIC = "trayauth-public"
NETWORK = (
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "certifi",
    "trayauth.flows.oauth_session",
    "trayauth.protocol.oauth",
)

PROBE = """
import asyncio, json, sys
from pathlib import Path
from trayauth.services.broker import Broker

NETWORK = json.loads(sys.argv[2])
seen = {}

def loaded():
    return sorted(m for m in NETWORK if m in sys.modules)

async def main():
    broker = Broker.open(Path(sys.argv[1]), in_workers=True)
    try:
        seen["opened"] = loaded()
        seen["renewed"] = [
            (await broker.refresh("oa")).access_token != sys.argv[3],
            (await broker.refresh("steps")).access_token != sys.argv[4],
        ]
        seen["after renewals"] = loaded()
        seen["logout"] = (await broker.logout("oa2")).outcome.value
        seen["after logout"] = loaded()
    finally:
        await broker.aclose()
    direct = Broker.open(Path(sys.argv[1]))
    try:
        await direct.refresh("oa")
        seen["in process"] = loaded()
    finally:
        await direct.aclose()

asyncio.run(main())
print(json.dumps(seen))
"""


def _broker(config: Path, clock: FakeClock | None = None) -> Broker:
    if clock is None:
        return Broker(Store.open(config), PresetCatalog(), in_workers=True)
    return Broker(Store.open(config), PresetCatalog(), in_workers=True, clock=clock)


@pytest_asyncio.fixture
async def broker(isolated: Path) -> AsyncIterator[Broker]:
    """The tray's kind of broker (``in_workers``) on the isolated config; closed after the test."""
    opened = _broker(isolated)
    try:
        yield opened
    finally:
        await opened.aclose()


async def _steps(broker: Broker, srv: ProviderServer, name: str) -> None:
    user = srv.users["sentiance"]
    broker.add(
        Account(name, "sentiance", {"base_url": srv.base_url("sentiance"), "username": user["username"]})
    )
    await broker.login(name, {"password": user["password"]})


async def _oauth(broker: Broker, srv: ProviderServer, name: str) -> None:
    # By the issuer: the worker reads the metadata (token and revocation endpoints) itself.
    settings = {"issuer": srv.issuer, "client_id": PUBLIC, "username": "demo"}
    broker.add(Account(name, "oauth2-password", settings))
    await broker.login(name, {"password": "demo-password"})


@pytest.mark.usefixtures("isolated")
def test_renewing_and_logging_out_in_workers_loads_no_http_stack(isolated: Path, srv: ProviderServer) -> None:
    broker = Broker.open(isolated)

    async def set_up() -> tuple[str, str]:
        try:
            await _oauth(broker, srv, "oa")
            await _oauth(broker, srv, "oa2")
            await _steps(broker, srv, "steps")
            return tuple(  # type: ignore[return-value]
                broker.store.vault.entry(name).tokens.access_token  # type: ignore[union-attr]
                for name in ("oa", "steps")
            )
        finally:
            await broker.aclose()

    old_oa, old_steps = asyncio.run(set_up())
    before = (srv.refreshes("oauth"), srv.refreshes("sentiance"), len(srv.revocations()))
    seen = report(run_probe(PROBE, str(isolated), json.dumps(NETWORK), old_oa, old_steps).stdout)
    assert seen["renewed"] == [True, True]
    # Two refreshes of "oa" (the worker's, then the in-process control's), one of "steps".
    assert (srv.refreshes("oauth"), srv.refreshes("sentiance")) == (before[0] + 2, before[1] + 1)
    assert seen["logout"] == Revocation.CONFIRMED.value and len(srv.revocations()) > before[2]
    assert seen["opened"] == seen["after renewals"] == seen["after logout"] == []
    # The control: the same renewal in the probe's own process does load them, so it would see them.
    assert {"httpx", "trayauth.flows.oauth_session"} <= set(seen["in process"])
    # What the workers got is in the vault, for every other process to read.
    vault = Store.open(isolated).vault
    assert vault.entry("oa").tokens.access_token != old_oa  # type: ignore[union-attr]
    assert vault.entry("oa2").tokens is None


@pytest.mark.asyncio
async def test_a_refused_refresh_token_comes_back_as_login_required_with_its_step(
    isolated: Path, fresh_provider: ProviderServer, broker: Broker
) -> None:
    srv = fresh_provider
    await _steps(broker, srv, "steps")
    srv.inject("sentiance", "auth/token", {"status": 400, "body": {"error": "invalid_grant"}})
    with pytest.raises(LoginRequired) as caught:
        await broker.refresh("steps")
    assert caught.value.account == "steps"
    assert caught.value.next_step is not None and caught.value.next_step.kind is StepKind.LOG_IN
    view = broker.view("steps")
    assert view.error and "steps" not in view.error.split(":", 1)[1]  # named once, as data
    assert broker.store.vault.entry("steps").refresh_in_flight is False


@pytest.mark.asyncio
async def test_an_answer_lost_after_the_provider_rotated_leaves_the_refresh_token_spent(
    isolated: Path, fresh_provider: ProviderServer, broker: Broker
) -> None:
    srv = fresh_provider
    await _steps(broker, srv, "steps")
    old = broker.store.vault.entry("steps").tokens
    srv.inject("sentiance", "auth/token", "reset_after_processing")
    with pytest.raises(NetworkError) as caught:
        await broker.refresh("steps")
    assert caught.value.sent is True
    refreshes = srv.refreshes("sentiance")
    assert broker.store.vault.entry("steps").refresh_in_flight is True
    assert broker.store.vault.entry("steps").tokens == old  # the old access token is kept
    with pytest.raises(LoginRequired, match="may be spent"):
        await broker.refresh("steps")
    assert srv.refreshes("sentiance") == refreshes  # never sent again


@pytest.mark.asyncio
async def test_a_worker_killed_mid_request_is_judged_as_a_request_that_may_have_been_accepted(
    isolated: Path, fresh_provider: ProviderServer, monkeypatch: pytest.MonkeyPatch, broker: Broker
) -> None:
    """The worker dies (kill -9) once the provider's answer headers arrived: the provider has
    rotated, the tray never learns the new token, and must not resend the old one."""
    srv = fresh_provider
    await _steps(broker, srv, "steps")
    await _let_go(broker)  # the login's worker: the next one starts with the kill point set
    monkeypatch.setenv(KILL_AT, "http:headers")  # the worker inherits it; the tray sends nothing
    refreshes = srv.refreshes("sentiance")
    with pytest.raises(TrayauthError, match="ended without an answer") as caught:
        await broker.refresh("steps")
    assert caught.value.account == "steps"
    assert srv.refreshes("sentiance") == refreshes + 1
    monkeypatch.delenv(KILL_AT)
    with pytest.raises(LoginRequired, match="may be spent"):
        await broker.refresh("steps")
    assert srv.refreshes("sentiance") == refreshes + 1


@pytest.mark.asyncio
async def test_the_worker_keeps_the_trays_clock(isolated: Path, fresh_provider: ProviderServer) -> None:
    """Expiry is computed in the worker from ``expires_in``: on the tray's clock, not its own, so
    the countdown the tray shows and the renewal it schedules agree."""
    clock = FakeClock()
    clock.now += 86400 * 3  # three days ahead of the wall clock
    srv, broker = fresh_provider, _broker(isolated, clock)
    srv.clock_offset = clock.now - srv.now()
    try:
        await _steps(broker, srv, "steps")
        clock.advance(600)
        asked = clock.now
        tokens = await broker.refresh("steps")
        assert asked <= tokens.obtained_at < asked + 300  # the worker's run, at most its limit
        assert tokens.expires_at is not None and tokens.expires_at > asked
    finally:
        await broker.aclose()


@pytest.mark.asyncio
async def test_renewals_that_fall_due_together_share_one_worker(
    isolated: Path, fresh_provider: ProviderServer, broker: Broker
) -> None:
    """Twenty accounts due at once (a laptop waking up): one worker process serves them all,
    side by side, and each renewal is stored."""
    srv = fresh_provider
    names = [f"steps{i:02d}" for i in range(20)]
    for name in names:
        await _steps(broker, srv, name)
    before = {name: broker.store.vault.entry(name).tokens for name in names}
    started = await _let_go(broker)  # the logins' worker
    renewed = await asyncio.gather(*(broker.refresh(name) for name in names))
    for name, tokens in zip(names, renewed, strict=True):
        old = before[name]
        assert old is not None and tokens.access_token != old.access_token
        assert broker.store.vault.entry(name).tokens == tokens
    assert broker.workers is not None and broker.workers.started == started + 1
    assert len(children("--flow-worker")) == 1
    await broker.aclose()
    assert not children("--flow-worker")  # the broker's close ends the worker


@pytest.mark.asyncio
async def test_an_idle_worker_goes_and_the_next_renewal_starts_another(
    isolated: Path, fresh_provider: ProviderServer, broker: Broker
) -> None:
    srv = fresh_provider
    assert broker.workers is not None
    broker.workers.idle = 0.0  # let it go as soon as it has nothing to do
    await _steps(broker, srv, "steps")  # a login without questions: in a worker too
    await _gone()
    await broker.refresh("steps")
    await _gone()
    await broker.refresh("steps")
    assert broker.workers.started == 3


@pytest.mark.asyncio
async def test_a_cancelled_renewal_leaves_the_worker_to_the_others(
    isolated: Path, fresh_provider: ProviderServer, broker: Broker
) -> None:
    srv = fresh_provider
    await _steps(broker, srv, "slow")
    await _steps(broker, srv, "other")
    started = await _let_go(broker)
    srv.inject("sentiance", "auth/token", "delay:10")
    logins = srv.count("sentiance", "auth/token")
    task = asyncio.ensure_future(broker.refresh("slow"))
    while srv.count("sentiance", "auth/token") == logins:  # the worker's request arrived
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert broker.is_renewing("slow") is False
    assert (await broker.refresh("other")).access_token  # the same worker answers the next
    assert broker.workers is not None and broker.workers.started == started + 1
    await broker.aclose()  # what it ends, before the check below
    assert not children("--flow-worker")


async def _let_go(broker: Broker) -> int:
    """End the worker the set-up's logins used; how many workers were started so far."""
    assert broker.workers is not None
    await broker.workers.aclose()
    assert not children("--flow-worker")
    return broker.workers.started


async def _gone() -> None:
    """Until the idle worker has closed its input, finished and exited."""
    while children("--flow-worker"):
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_a_logout_revokes_through_the_worker(
    isolated: Path, fresh_provider: ProviderServer, broker: Broker
) -> None:
    srv = fresh_provider
    await _oauth(broker, srv, "oa")
    assert broker.workers is not None
    calls, revoked = broker.workers.calls, len(srv.revocations())
    result = await broker.logout("oa")
    assert result.outcome is Revocation.CONFIRMED
    assert len(srv.revocations()) > revoked and broker.workers.calls == calls + 1
    assert broker.store.vault.entry("oa").tokens is None


@pytest.mark.asyncio
async def test_where_the_loop_cannot_start_processes_the_calls_run_in_the_tray(
    isolated: Path, fresh_provider: ProviderServer, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """qasync on Windows, for one, has no subprocesses: the tray then renews in itself, as
    before the worker, rather than not at all."""

    async def no_processes(*args: object, **kwargs: object) -> None:
        raise NotImplementedError

    monkeypatch.setattr(asyncio, "create_subprocess_exec", no_processes)
    srv = fresh_provider
    await _oauth(broker, srv, "oa")  # a login without questions
    await _steps(broker, srv, "steps")
    old = broker.store.vault.entry("steps").tokens
    renewed = await broker.refresh("steps")
    assert old is not None and renewed.access_token != old.access_token
    assert (await broker.logout("oa")).outcome is Revocation.CONFIRMED
    assert broker.workers is not None and broker.workers.started == broker.workers.calls == 0
