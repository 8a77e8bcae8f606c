"""The hand-off commands' token without a tray: the vault, renewing (single-flight) when due.

Imported only when no tray answers (:func:`trayauth.integrations.source.get_token` decides), so
the core (the vault, httpx, asyncio) costs nothing on the path through the tray.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from trayauth.cli.wording import renewal_warning_of
from trayauth.client import token_digest
from trayauth.domain.consent import ConsentDenied
from trayauth.domain.model import State, TokenSet
from trayauth.domain.steps import NextStep, StepKind
from trayauth.integrations.source import Grant
from trayauth.services.broker import Broker
from trayauth.storage.consent import ConsentStore


def direct(name: str, renew: str | None = None) -> Grant:
    """The core's answer, without a tray: the vault, renewing (single-flight) when due."""
    broker = Broker.open()
    refuse_if_asking(broker.paths.root, name)
    tokens = None if renew else broker.cached_token(name)
    if tokens is None:

        async def fetch() -> TokenSet:
            try:
                got = await broker.token(name)
                if renew and token_digest(got.access_token) == renew:
                    got = await broker.refresh(name)
                return got
            finally:
                await broker.aclose()

        tokens = asyncio.run(fetch())
    view = broker.view(name)
    warning = None
    if view.error:
        warning = renewal_warning_of(view.error, view.next_step, expired=view.state is State.EXPIRED)
    return Grant(tokens.access_token, tokens.token_type, tokens.expires_at, warning)


def refuse_if_asking(root: Path, name: str) -> None:
    """An account set to ask first is handed out only by the tray, which can ask."""
    if ConsentStore(root).asks(name):
        raise ConsentDenied(
            f"{name} asks before handing out its token, and only the tray can ask",
            account=name,
            named=True,
            next_step=NextStep.of(StepKind.START_TRAY),
        )
