"""Ways of getting a token, one module each, and the registry that loads them.

A preset names its flow by module name. ``load_flow`` hands out a :class:`Flow` whose parts load
when first called, each from the module that holds it::

    async def login(ctx: FlowContext) -> TokenSet                      # trayauth.flows.<name>
    async def refresh(ctx: FlowContext, tokens: TokenSet) -> TokenSet   # flows that renew by refresh
    async def revoke(ctx: FlowContext, tokens: TokenSet | None) -> RevocationResult  # at logout

The OAuth sign-ins (browser, device code, password) keep only their login; they renew and revoke
through :mod:`trayauth.flows.oauth_session`. So the CLI's fast path pays for no flow, and a
long-running tray that renews refresh tokens never loads a login with its ID-token check (PyJWT
and cryptography's key algorithms, 3.2 MiB resident in the tray) and PKCE (authlib, 1 MiB): they load
with the first login that needs them. This registry is the one place below the user interfaces
that decides when flow code is imported (tests/unit/test_imports_at_top.py).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from trayauth.domain.errors import PresetError
from trayauth.domain.presets import FLOWS

__all__ = ["FLOWS", "Flow", "load_flow"]

if TYPE_CHECKING:
    from trayauth.domain.model import TokenSet
    from trayauth.flows.base import FlowContext
    from trayauth.protocol.revocation import RevocationResult

# The module that renews and revokes each flow's tokens, where it is not the login's own module.
SESSION_PART = {
    "authorization_code": "oauth_session",
    "device_code": "oauth_session",
    "oauth_password": "oauth_session",
}


class _Part(Protocol):
    """A flow module; ``refresh`` exists only where the flow's presets renew by refresh."""

    async def login(self, ctx: FlowContext) -> TokenSet: ...

    async def refresh(self, ctx: FlowContext, tokens: TokenSet) -> TokenSet: ...

    async def revoke(self, ctx: FlowContext, tokens: TokenSet | None) -> RevocationResult: ...


def _part(module: str) -> _Part:
    return cast("_Part", importlib.import_module(f"trayauth.flows.{module}"))


@dataclass(frozen=True)
class Flow:
    """What the renewal service calls; each call imports only the module that answers it."""

    name: str

    async def login(self, ctx: FlowContext) -> TokenSet:
        return await _part(self.name).login(ctx)

    async def refresh(self, ctx: FlowContext, tokens: TokenSet) -> TokenSet:
        return await _part(SESSION_PART.get(self.name, self.name)).refresh(ctx, tokens)

    async def revoke(self, ctx: FlowContext, tokens: TokenSet | None) -> RevocationResult:
        return await _part(SESSION_PART.get(self.name, self.name)).revoke(ctx, tokens)


def load_flow(name: str) -> Flow:
    if name not in FLOWS:
        raise PresetError(f"unknown flow {name!r}; known flows: {', '.join(FLOWS)}")
    return Flow(name)
