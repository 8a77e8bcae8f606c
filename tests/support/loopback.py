"""A loopback redirect listening for one sign-in, and a raw socket to talk to it.

Both loopback test modules use these: the listener with a short read timeout (slow-client tests
wait it out), and ``raw`` for requests a browser would never send.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from trayauth.net import loopback
from trayauth.protocol import oauth

STATE = "state-" + "x" * 40


def validate(url: str) -> str:
    return oauth.parse_callback(url, state=STATE, account="work")


@pytest_asyncio.fixture
async def listener() -> AsyncIterator[loopback.LoopbackRedirect[str]]:
    redirect = loopback.LoopbackRedirect(validate, account="work", read_timeout=0.3)
    await redirect.start()
    try:
        yield redirect
    finally:
        await redirect.close()


async def raw(port: int, data: bytes) -> bytes:
    """Send ``data`` as is and read until the server closes (bounded, for a loaded machine)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    out = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return out
