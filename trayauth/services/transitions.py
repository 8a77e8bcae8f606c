"""The renewal state machine's steps, one named function each, on an account's vault entry.

Each is applied inside ``vault.update`` (under the vault lock, to the entry as it is on disk now),
so a step never overwrites what another process wrote meanwhile. The renewal service picks the
step; what each step means is written here once:

- ``attempt_over``: a refresh ended without spending the refresh token (nothing was sent, or the
  server refused before rotating): it may be sent again.
- ``refresh_token_dead``: the provider rejected the refresh token: drop it so nobody sends it
  again; the access token stays while it lasts.
- ``failed``: record why the last renewal failed (message and next step, never CLI wording).
- ``logged_in``: store what a login obtained, as a new session (a fresh id).
- ``renewed``: store what a renewal obtained, clearing the error and the in-flight mark.

``renewed`` is also where a renewal that lost its session drops its result: the entry carries
the id of the login it belongs to, and a logout, or a remove and add, ends that login.
"""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Callable, Mapping
from dataclasses import replace

from trayauth.domain.errors import LoginRequired
from trayauth.domain.model import TokenSet
from trayauth.domain.steps import NextStep
from trayauth.storage.vault import VaultEntry

# A step as ``vault.update`` takes it.
Step = Callable[[VaultEntry], VaultEntry]


class SessionEnded(LoginRequired):
    """The account was logged out or removed (and maybe added again) while a renewal ran."""


def new_session() -> str:
    return _secrets.token_hex(8)


def attempt_over(entry: VaultEntry) -> VaultEntry:
    return replace(entry, refresh_in_flight=False)


def refresh_token_dead(entry: VaultEntry) -> VaultEntry:
    tokens = replace(entry.tokens, refresh_token=None) if entry.tokens else None
    return replace(entry, tokens=tokens, refresh_in_flight=False)


def failed(message: str, step: NextStep | None) -> Step:
    return lambda entry: replace(entry, last_error=message, last_step=step)


def logged_in(tokens: TokenSet, *, now: float, secrets: Mapping[str, str]) -> Step:
    """A login's tokens (and the secrets to keep): a new session begins."""

    def apply(entry: VaultEntry) -> VaultEntry:
        return VaultEntry(secrets=dict(secrets), tokens=tokens, updated_at=now, session=new_session())

    return apply


def renewed(name: str, tokens: TokenSet, *, now: float, session: str | None) -> Step:
    """A renewal's tokens, stored only while the entry still belongs to the login the renewal
    started from (``session``): else :class:`SessionEnded` and nothing is written."""

    def apply(entry: VaultEntry) -> VaultEntry:
        if entry.tokens is None or entry.session != session:
            raise SessionEnded(
                f"{name} was logged out or removed while it renewed; the new token was dropped",
                account=name,
                named=True,
                next_step=NextStep.log_in(name),
            )
        return replace(
            entry, tokens=tokens, refresh_in_flight=False, last_error=None, last_step=None, updated_at=now
        )

    return apply
