"""Ways of getting a token, one module each.

A preset names its flow by module name; ``load_flow`` imports only that module so the CLI's fast
path never pays for flows it does not use. Each flow module provides::

    async def login(ctx: FlowContext) -> TokenSet
    async def refresh(ctx: FlowContext, tokens: TokenSet) -> TokenSet   # flows that renew by refresh
    async def revoke(ctx: FlowContext, tokens: TokenSet | None) -> RevocationResult  # at logout
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol, cast

from trayauth.domain.errors import PresetError
from trayauth.domain.presets import FLOWS

__all__ = ["FLOWS", "Flow", "load_flow"]

if TYPE_CHECKING:
    from trayauth.domain.model import TokenSet
    from trayauth.flows.base import FlowContext
    from trayauth.protocol.revocation import RevocationResult


class Flow(Protocol):
    """What the broker calls; ``refresh`` exists only on flows whose presets renew by refresh."""

    async def login(self, ctx: FlowContext) -> TokenSet: ...

    async def refresh(self, ctx: FlowContext, tokens: TokenSet) -> TokenSet: ...

    async def revoke(self, ctx: FlowContext, tokens: TokenSet | None) -> RevocationResult: ...




def load_flow(name: str) -> Flow:
    if name not in FLOWS:
        raise PresetError(f"unknown flow {name!r}; known flows: {', '.join(FLOWS)}")
    return cast("Flow", importlib.import_module(f"trayauth.flows.{name}"))
