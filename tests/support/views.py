"""An account as the tray's presenters see it, at a fixed moment: one factory for the Qt-free tests."""

from __future__ import annotations

from dataclasses import replace

from trayauth.domain.model import State
from trayauth.services.broker import AccountView

NOW = 1_700_000_000.0
LEAD = 300.0  # the "warn before expiry" setting the presenters are given


def view(name: str = "work", **kw: object) -> AccountView:
    """A valid Sentiance account with an hour left at NOW; ``kw`` changes any field."""
    base = AccountView(
        name=name,
        preset_id="sentiance",
        provider="Sentiance (control user)",
        state=State.VALID,
        expires_at=NOW + 3600,
        expires_in=3600,
        error=None,
        is_default=False,
        renewable=True,
        interactive=False,
        last_used=None,
    )
    return replace(base, **kw)  # type: ignore[arg-type]
