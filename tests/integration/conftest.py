"""Fixtures the OAuth integration tests share: a provider server of the test's own, one HTTP
policy, a broker on the isolated config dir, and fresh metadata and key caches."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from trayauth.demo import ProviderServer
from trayauth.flows import discovery, idtoken
from trayauth.net.http import HttpPolicy


@pytest.fixture
def srv() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpPolicy]:
    policy = HttpPolicy()
    try:
        yield policy
    finally:
        await policy.aclose()


@pytest.fixture(autouse=True)
def _fresh_discovery() -> None:
    discovery.forget()
    idtoken.forget()


@pytest_asyncio.fixture
async def broker(isolated: Any) -> AsyncIterator[Any]:
    from trayauth.domain.presets import PresetCatalog
    from trayauth.services.broker import Broker
    from trayauth.storage.store import Store

    b = Broker(Store.open(isolated), PresetCatalog())
    try:
        yield b
    finally:
        await b.aclose()
