"""Ways of getting a token, one module each.

A preset names its flow by module name; ``load_flow`` imports only that module so the CLI's fast
path never pays for flows it does not use. Each flow module provides::

    async def login(ctx: FlowContext) -> TokenSet
    async def refresh(ctx: FlowContext, tokens: TokenSet) -> TokenSet   # flows that renew by refresh
"""

from __future__ import annotations

import importlib
from types import ModuleType

from trayauth.core.errors import PresetError

FLOWS = (
    "static",
    "steps",
    "authorization_code",
    "oauth_password",
    "client_credentials",
    "device_code",
)


def load_flow(name: str) -> ModuleType:
    if name not in FLOWS:
        raise PresetError(f"unknown flow {name!r}; known flows: {', '.join(FLOWS)}")
    return importlib.import_module(f"trayauth.core.flows.{name}")
