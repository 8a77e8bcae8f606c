"""A logout's call to the provider: bounded, tried once, and never an exception.

The local tokens are deleted whatever the provider does, so a logout always completes and says
what happened at the provider. Kept apart from the revocation requests themselves
(:mod:`trayauth.flows.revocation`, which needs the OAuth protocol modules): a tray whose flows
run in worker processes calls this and never loads those.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from trayauth.domain.errors import LoginRequired, NetworkError, TrayauthError
from trayauth.protocol.revocation import Revocation, RevocationResult

if TYPE_CHECKING:
    from trayauth.domain.model import TokenSet
    from trayauth.flows import Flow
    from trayauth.flows.base import FlowContext

LOGOUT_DEADLINE = 5.0  # seconds a logout may spend at the provider before it says "not reached"


async def revoke_within(
    flow: Flow, ctx: FlowContext, tokens: TokenSet | None, *, deadline: float = LOGOUT_DEADLINE
) -> RevocationResult:
    """``flow.revoke`` bounded by ``deadline`` seconds, one attempt per request (no Retry-After
    waits), and never an exception: a logout always completes and says what happened."""
    ctx.http = ctx.http.with_attempts(1)
    try:
        # wait_for, not asyncio.timeout: the tray's qasync loop runs callbacks outside a task.
        return await asyncio.wait_for(flow.revoke(ctx, tokens), deadline)
    except TimeoutError:
        return RevocationResult(Revocation.UNREACHABLE, f"no answer within {deadline:g} s")
    except NetworkError as exc:
        return RevocationResult(Revocation.UNREACHABLE, exc.message)
    except LoginRequired as exc:
        return RevocationResult(Revocation.REFUSED, exc.message)
    except TrayauthError as exc:
        return RevocationResult(Revocation.REFUSED, exc.message)
