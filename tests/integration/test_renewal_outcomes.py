"""Each renewal judges its own answer: whether the provider accepted a rotating refresh (so the old
refresh token is spent) travels with the error that renewal raised, not through state on the
shared HTTP policy, so two renewals at once cannot read each other's status."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.clock import FakeClock, Sleeps
from trayauth.demo import ProviderServer
from trayauth.domain.errors import TrayauthError
from trayauth.domain.model import Account
from trayauth.domain.presets import PresetCatalog
from trayauth.net.http import HttpPolicy
from trayauth.services.broker import Broker
from trayauth.storage.store import Store

AMINO_TOKENS = "api/auth/v1/access_tokens"


async def _log_in(broker: Broker, srv: ProviderServer, name: str, vendor: str) -> None:
    user = srv.users[vendor]
    broker.add(Account(name, vendor, {"base_url": srv.base_url(vendor), "username": user["username"]}))
    await broker.login(name, {"password": user["password"]})


def test_the_http_policy_keeps_no_state_of_an_exchange() -> None:
    policy = HttpPolicy()
    assert not hasattr(policy, "last_status") and not hasattr(policy, "session")
    assert not hasattr(policy, "waited")


@pytest.mark.asyncio
async def test_two_renewals_at_once_each_judge_their_own_answer(
    isolated: Path, fresh_provider: ProviderServer
) -> None:
    srv, clock = fresh_provider, FakeClock()
    broker = Broker(
        Store.open(isolated), PresetCatalog(), http=HttpPolicy(sleep=Sleeps(), clock=clock), clock=clock
    )
    try:
        await _log_in(broker, srv, "cut", "sentiance")
        await _log_in(broker, srv, "refused", "amino")
        # "cut": the provider rotates the refresh token, then its answer breaks off (a success
        # status whose body is unusable): the old refresh token is spent. "refused": a 500 before
        # anything happened: the old refresh token is still good.
        clock.now += 60  # a refresh asked for later than the login renews
        srv.inject("sentiance", "auth/token", "truncated_json")
        srv.inject("amino", AMINO_TOKENS, {"status": 500, "body": "boom"})
        outcomes = await asyncio.gather(
            broker.refresh("cut"), broker.refresh("refused"), return_exceptions=True
        )
        assert all(isinstance(o, TrayauthError) for o in outcomes), outcomes

        vault = broker.store.vault
        assert vault.entry("cut").refresh_in_flight is True  # never sent again
        assert broker.view("cut").renewable is False
        assert vault.entry("refused").refresh_in_flight is False
        assert broker.view("refused").renewable is True

        # The refused one renews with the same refresh token once the provider is back.
        before = vault.entry("refused").tokens
        assert before is not None
        renewed = await broker.refresh("refused")
        assert renewed.access_token != before.access_token and srv.check("amino", renewed.access_token)
    finally:
        await broker.aclose()


@pytest.mark.asyncio
async def test_a_refused_rotation_beside_an_accepted_one_in_the_other_order(
    isolated: Path, fresh_provider: ProviderServer
) -> None:
    """The same pair with the outcomes swapped between the vendors: neither depends on which
    answer came last."""
    srv, clock = fresh_provider, FakeClock()
    broker = Broker(
        Store.open(isolated), PresetCatalog(), http=HttpPolicy(sleep=Sleeps(), clock=clock), clock=clock
    )
    try:
        await _log_in(broker, srv, "refused", "sentiance")
        await _log_in(broker, srv, "cut", "amino")
        clock.now += 60
        srv.inject("sentiance", "auth/token", {"status": 500, "body": "boom"})
        srv.inject("amino", AMINO_TOKENS, "truncated_json")
        await asyncio.gather(broker.refresh("refused"), broker.refresh("cut"), return_exceptions=True)
        assert broker.store.vault.entry("cut").refresh_in_flight is True
        assert broker.store.vault.entry("refused").refresh_in_flight is False
    finally:
        await broker.aclose()
