"""Fixtures of the unit tests, registered by being imported here (they live in tests/support/)."""

from __future__ import annotations

from tests.support.loopback import listener

__all__ = ["listener"]
