"""The accounts: defining, removing, settings, the default, and snapshots (views) of each.

Snapshots cost no network: they come from the config and the vault as they are. Removing an
account deletes its tokens, so it holds the account's lock like every other write of them (a
renewal in flight finishes first; a renewal that started from the removed login stores nothing).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from trayauth.domain.errors import LoginRequired, TrayauthError
from trayauth.domain.events import AccountEvent, EventKind
from trayauth.domain.model import Account, State
from trayauth.domain.presets import Preset, PresetCatalog
from trayauth.domain.steps import NextStep
from trayauth.domain.tokens import Inspection, expiring_at, inspect_token, renew_at, session_ends_at, state_of
from trayauth.services.events import EventBus
from trayauth.services.renewal import RenewalService, can_renew
from trayauth.storage.vault import VaultEntry

if TYPE_CHECKING:
    from trayauth.storage.keystore import KeyLocation
    from trayauth.storage.store import Store


@dataclass(frozen=True)
class AccountView:
    """A snapshot for lists and menus; building one costs no network."""

    name: str
    preset_id: str
    provider: str
    state: State
    expires_at: float | None
    expires_in: int | None
    error: str | None
    is_default: bool
    renewable: bool
    interactive: bool
    last_used: float | None
    renew_at: float | None = None
    # When the user must sign in again because this session cannot renew itself (no refresh token).
    sign_in_by: float | None = None
    next_step: NextStep | None = None  # what to do about ``error``, as data
    # From when the token counts as "expiring" (domain.tokens.expiring_at): the tray applies the
    # same rule as `trayauth list` as time passes, without the token itself.
    expiring_at: float | None = None
    # A token the user pasted (a static preset): described and offered as such, never "log in".
    pasted: bool = False


class AccountService:
    def __init__(
        self,
        store: Store,
        presets: PresetCatalog,
        events: EventBus,
        renewal: RenewalService,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.presets = presets
        self.events = events
        self.renewal = renewal  # its lock scope, and the failures it could not write
        self.clock = clock

    def account(self, name: str) -> tuple[Account, Preset]:
        account = self.store.config.get_account(name)
        return account, self.presets.get(account.preset)

    def key_location(self) -> KeyLocation:
        return self.store.vault.key_location()

    # ---- snapshots ------------------------------------------------------------------------

    def _view(self, account: Account, entry: VaultEntry, default: str | None, now: float) -> AccountView:
        try:
            preset = self.presets.get(account.preset)
            provider, interactive, pasted = preset.label, preset.interactive, preset.pasted
            renewable = can_renew(preset, entry)
            sign_in_by = session_ends_at(preset.renew, renewable, entry.tokens)
        except TrayauthError as exc:
            provider, interactive, renewable, sign_in_by = account.preset, False, False, None
            pasted = False
            exc.about(account.name)  # shown as this account's error: it names it
            entry = replace(entry, last_error=exc.message, last_step=exc.next_step)
        unsaved = self.renewal.unsaved_error(account.name)
        if unsaved is not None:
            entry = replace(entry, last_error=unsaved[0], last_step=unsaved[1])
        tokens = entry.tokens
        state = state_of(tokens, now, error=entry.last_error)
        expires_at = tokens.expires_at if tokens else None
        return AccountView(
            name=account.name,
            preset_id=account.preset,
            provider=provider,
            state=state,
            expires_at=expires_at,
            expires_in=None if expires_at is None else max(0, int(expires_at - now)),
            error=entry.last_error,
            next_step=entry.last_step if entry.last_error else None,
            is_default=account.name == default,
            renewable=renewable,
            interactive=interactive,
            last_used=self.store.last_used().get(account.name),
            renew_at=renew_at(tokens) if tokens and renewable else None,
            sign_in_by=sign_in_by,
            expiring_at=expiring_at(tokens) if tokens else None,
            pasted=pasted,
        )

    def accounts(self) -> list[AccountView]:
        config = self.store.config.load()
        entries = self.store.vault.read_all() if config.accounts else {}
        now = self.clock()
        return [
            self._view(acct, entries.get(name, VaultEntry()), config.app.default, now)
            for name, acct in config.accounts.items()
        ]

    def view(self, name: str) -> AccountView:
        config = self.store.config.load()
        account = self.store.config.get_account(name)
        return self._view(account, self.store.vault.entry(name), config.app.default, self.clock())

    def default_account(self) -> str | None:
        config = self.store.config.load()
        if config.app.default and config.app.default in config.accounts:
            return config.app.default
        used = self.store.last_used()
        known = [n for n in config.accounts if n in used]
        if known:
            return max(known, key=lambda n: used[n])
        return next(iter(config.accounts), None)

    def inspect(self, name: str) -> Inspection:
        self.account(name)
        tokens = self.store.vault.entry(name).tokens
        if tokens is None:
            raise LoginRequired(
                f"{name} is not logged in", account=name, named=True, next_step=NextStep.log_in(name)
            )
        return inspect_token(tokens)

    # ---- configuration --------------------------------------------------------------------

    def add(self, account: Account) -> None:
        self.store.config.add_account(account)
        self.events.publish(AccountEvent(EventKind.ADDED, account.name))

    def update_settings(self, name: str, settings: Mapping[str, str]) -> None:
        """Replace the account's (non-secret) settings."""
        self.store.config.update_account_settings(name, dict(settings))
        self.events.publish(AccountEvent(EventKind.CHANGED, name))

    async def remove(self, name: str) -> None:
        """Delete the account and its tokens and kept secrets, under the account's lock."""
        self.store.config.get_account(name)
        async with self.renewal.locked(name):
            await asyncio.to_thread(self.store.vault.remove, name)
            self.store.config.remove_account(name)
            self.renewal.forget(name)
        self.events.publish(AccountEvent(EventKind.REMOVED, name))

    def set_default(self, name: str | None) -> None:
        if name is not None:
            self.store.config.get_account(name)
        self.store.config.set_default(name)
        self.events.publish(AccountEvent(EventKind.CHANGED, name or ""))
