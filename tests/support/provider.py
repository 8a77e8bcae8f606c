"""The provider server tests talk real HTTP to (trayauth.demo): one per session, or a test's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from trayauth.demo import ProviderServer


def serve() -> Iterator[ProviderServer]:
    srv = ProviderServer()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def provider() -> Iterator[ProviderServer]:
    """One provider server for the session: tests that only log in and read tokens share it."""
    yield from serve()


@pytest.fixture
def fresh_provider() -> Iterator[ProviderServer]:
    """A provider server of the test's own, for tests that change lifetimes or inject faults."""
    yield from serve()
