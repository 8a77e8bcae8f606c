"""The broker's renewal rules against the provider server, with the clock in the test's hands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.clock import FakeClock, Sleeps
from trayauth.demo import ProviderServer
from trayauth.domain.errors import LoginRequired, TrayauthError
from trayauth.domain.events import AccountEvent
from trayauth.domain.model import Account, State
from trayauth.domain.presets import PresetCatalog
from trayauth.net.http import HttpPolicy
from trayauth.services.broker import Broker
from trayauth.services.scheduler import RenewalScheduler
from trayauth.storage.store import Store


@dataclass
class BrokerWorld:
    """A broker on the test's config folder, the provider server, and the time it all runs on."""

    broker: Broker
    srv: ProviderServer
    clock: FakeClock  # shared by the broker and its HTTP policy
    sleeps: Sleeps  # the HTTP policy's waits (Retry-After), recorded, not slept
    events: list[AccountEvent]  # everything the broker announced, in order


@pytest.fixture
def world(isolated: Path, fresh_provider: ProviderServer) -> BrokerWorld:
    clock, sleeps = FakeClock(), Sleeps()
    store = Store.open(isolated)
    broker = Broker(store, PresetCatalog(), http=HttpPolicy(sleep=sleeps, clock=clock), clock=clock)
    events: list[AccountEvent] = []
    broker.subscribe(events.append)
    return BrokerWorld(broker, fresh_provider, clock, sleeps, events)


async def login_sentiance(broker: Broker, srv: Any, name: str = "work") -> str:
    user = srv.users["sentiance"]
    broker.add(
        Account(name, "sentiance", {"base_url": srv.base_url("sentiance"), "username": user["username"]})
    )
    tokens = await broker.login(name, {"password": user["password"]})
    return tokens.access_token


@pytest.mark.asyncio
async def test_failed_refresh_keeps_the_valid_token_and_says_why(world: BrokerWorld) -> None:
    broker, srv, clock, events = world.broker, world.srv, world.clock, world.events
    old = await login_sentiance(broker, srv)
    expires_at = broker.view("work").expires_at
    clock.now = expires_at - 30  # inside the 60 s margin, still valid
    srv.inject("sentiance", "auth/token", {"status": 500, "body": "boom"})
    assert (await broker.token("work")).access_token == old
    view = broker.view("work")
    assert view.error and "500" in view.error
    assert view.state == State.ERROR
    assert [e.kind for e in events][-2:] == ["renewing", "renew_failed"]
    new = (await broker.token("work")).access_token
    assert new != old and srv.check("sentiance", new)
    assert broker.view("work").error is None
    await broker.aclose()


@pytest.mark.asyncio
async def test_interrupted_rotating_refresh_never_resends_the_spent_token(world: BrokerWorld) -> None:
    broker, srv, clock = world.broker, world.srv, world.clock
    old = await login_sentiance(broker, srv)
    expires_at = broker.view("work").expires_at
    clock.now = expires_at - 30
    srv.inject("sentiance", "auth/token", "reset_after_processing")
    assert (await broker.token("work")).access_token == old  # old one still valid
    before = srv.count("sentiance", "auth/token")
    assert (await broker.token("work")).access_token == old
    with pytest.raises(LoginRequired, match="interrupted"):
        await broker.refresh("work")
    assert srv.count("sentiance", "auth/token") == before, "the possibly spent token was sent again"
    assert srv.revoked_families("sentiance") == 0
    clock.now = expires_at + 1
    with pytest.raises(LoginRequired):
        await broker.token("work")
    await broker.aclose()


@pytest.mark.asyncio
async def test_senseye_429_waits_for_retry_after(world: BrokerWorld) -> None:
    broker, srv, sleeps = world.broker, world.srv, world.sleeps
    user = srv.users["senseye"]
    broker.add(Account("s", "senseye", {"base_url": srv.base_url("senseye"), "username": user["username"]}))
    srv.inject("senseye", "oauth/token", {"status": 429, "headers": {"Retry-After": "7"}})
    tokens = await broker.login("s", {"password": user["password"]})
    assert srv.check("senseye", tokens.access_token)
    assert sleeps.calls == [7.0]
    await broker.aclose()


@pytest.mark.asyncio
async def test_scheduler_renews_at_the_margin_and_after_a_clock_jump(world: BrokerWorld) -> None:
    broker, srv, clock, events = world.broker, world.srv, world.clock, world.events
    await login_sentiance(broker, srv, "a")
    user = srv.users["senseye"]
    broker.add(Account("s", "senseye", {"base_url": srv.base_url("senseye"), "username": user["username"]}))
    await broker.login("s", {"password": user["password"]})
    scheduler = RenewalScheduler(broker, clock=clock)
    delay = await scheduler.tick()
    assert delay == pytest.approx(scheduler.max_sleep), "nothing due: sleep the bounded maximum"

    old = {v.name: (await broker.token(v.name)).access_token for v in broker.accounts()}
    clock.now += 2 * 86400  # the laptop slept for two days (the world's clocks moved on too)
    srv.clock_offset = 2 * 86400
    await scheduler.tick()
    await scheduler.settle()
    for name, token in old.items():
        fresh = broker.store.vault.entry(name).tokens
        assert fresh is not None and fresh.access_token != token
        assert broker.view(name).state == State.VALID
    assert {e.account for e in events if e.kind == "renewed"} == {"a", "s"}
    await broker.aclose()


@pytest.mark.asyncio
async def test_unrenewable_token_is_announced_once(world: BrokerWorld) -> None:
    broker, srv, clock, events = world.broker, world.srv, world.clock, world.events
    token = srv.mint_jwt({"sub": "x", "exp": int(clock.now) + 3600})
    broker.add(Account("b", "bearer", {}))
    await broker.login("b", {"token": token})
    scheduler = RenewalScheduler(broker, clock=clock)
    clock.now += 3600 - 120
    for _ in range(3):
        await scheduler.tick()
    clock.now += 200
    for _ in range(3):
        await scheduler.tick()
    kinds = [e.kind for e in events if e.account == "b" and e.kind in ("expiring", "expired")]
    assert kinds == ["expiring", "expired"]
    await broker.aclose()


@pytest.mark.asyncio
async def test_scheduler_wakes_on_time_for_a_token_that_cannot_renew(world: BrokerWorld) -> None:
    """A pasted token has no due moment; its warning and its expiry still set the next look, to
    the second (the tick used to skip such accounts and sleep its full minute: ~58 s late)."""
    broker, srv, clock, events = world.broker, world.srv, world.clock, world.events
    expires = int(clock.now) + 3600
    broker.add(Account("b", "bearer", {}))
    await broker.login("b", {"token": srv.mint_jwt({"sub": "x", "exp": expires})})
    scheduler = RenewalScheduler(broker, clock=clock, max_sleep=1e6, notify_lead=lambda: 300.0)
    delay = await scheduler.tick()
    assert delay == pytest.approx(expires - 300 - clock.now, abs=0.01)
    clock.now += delay
    delay = await scheduler.tick()
    (warning,) = [e for e in events if e.kind == "expiring"]
    assert "5 min" in warning.message, warning.message
    assert delay == pytest.approx(300, abs=0.01)
    clock.now += delay
    await scheduler.tick()
    assert [e.kind for e in events if e.kind in ("expiring", "expired")] == ["expiring", "expired"]
    await broker.aclose()


@pytest.mark.parametrize("restart", [False, True], ids=["same tray", "after a restart"])
@pytest.mark.asyncio
async def test_a_failed_refresh_is_retried_so_the_error_clears_when_the_provider_recovers(
    world: BrokerWorld, restart: bool
) -> None:
    """ "Refresh now" failed with 47 minutes left: the account must not stay red until the token
    next falls due; the scheduler retries on its backoff and the error goes with the success."""
    broker, srv, clock, events = world.broker, world.srv, world.clock, world.events
    await login_sentiance(broker, srv)
    scheduler = RenewalScheduler(broker, clock=clock)
    await scheduler.tick()
    srv.inject("sentiance", "auth/token", {"status": 500, "body": "boom"})
    clock.now += 60
    with pytest.raises(TrayauthError, match="500"):
        await broker.refresh("work")  # "Refresh now": the valid token is kept, the failure recorded
    assert broker.view("work").error
    if restart:
        scheduler = RenewalScheduler(broker, clock=clock)
    delay = await scheduler.tick()
    assert delay == pytest.approx(15.0, abs=0.01)
    assert not scheduler.renewing
    clock.now += delay
    await scheduler.tick()
    await scheduler.settle()
    assert broker.view("work").error is None
    assert broker.view("work").state == State.VALID
    assert events[-1].kind == "renewed"
    await broker.aclose()
