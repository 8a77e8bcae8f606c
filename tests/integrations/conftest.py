"""Fixtures for the integration tests: a running tray agent (no Qt), a logged-in account.

The "tray" here is the real :class:`AgentServer` over the real broker, on an asyncio loop in a
background thread: what the tray app runs, minus the icon. Tools under test (kubectl, git,
curl, ssh) start the installed ``trayauth`` console script from this venv.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integrations.support import Agent
from tests.support.cli import sentiance_account


@pytest.fixture
def agent(isolated: Path) -> Iterator[Agent]:
    running = Agent().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def api(isolated: Path, provider: Any) -> str:
    """A logged-in Sentiance account named "api" on the shared provider server."""
    sentiance_account(provider, "api")
    return "api"
