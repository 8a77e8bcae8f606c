"""Getting tokens: login, renewal, logout. The one place that decides "this token is good, renew
it, or ask the user".

The rules live once: renew inside the margin; single-flight per account in this process (an
asyncio lock) and across processes (the account's file lock); every write of an account's tokens
(login, renewal, logout, and the accounts service's remove) holds both; the vault is re-read after
the lock because another process may have renewed already; a refresh token that may have been
spent is never sent again; a failed renewal keeps the old token while it is still valid, and says
why; a renewal whose login ended meanwhile (logout, remove and add) drops what it got. The steps
of the state machine are named in :mod:`trayauth.services.transitions`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING

from trayauth import faultpoints
from trayauth.domain.errors import (
    CredentialsRejected,
    LoginRequired,
    NetworkError,
    StorageError,
    TrayauthError,
)
from trayauth.domain.events import AccountEvent, EventKind
from trayauth.domain.model import Account, TokenSet
from trayauth.domain.presets import Preset, PresetCatalog
from trayauth.domain.steps import NextStep, StepKind
from trayauth.domain.tokens import assume_expiry, needs_renewal
from trayauth.flows import load_flow
from trayauth.flows.base import FlowContext
from trayauth.flows.logout import revoke_within
from trayauth.net.http import HttpPolicy
from trayauth.services import transitions
from trayauth.services.events import EventBus
from trayauth.storage.locks import AccountLock
from trayauth.storage.vault import VaultEntry

if TYPE_CHECKING:
    from trayauth.domain.prompts import Asker
    from trayauth.flows import Flow
    from trayauth.flows.base import FlowContext
    from trayauth.net.http import HttpPolicy
    from trayauth.protocol.revocation import RevocationResult
    from trayauth.storage.store import Store


def can_renew(preset: Preset, entry: VaultEntry) -> bool:
    """Whether this account renews itself without the user (a refresh token, or kept secrets)."""
    if preset.renew == "refresh" and entry.tokens is not None and entry.tokens.refresh_token:
        return not entry.refresh_in_flight
    if preset.renew in ("refresh", "relogin") and preset.keep_secrets and entry.secrets:
        return not preset.interactive
    return False


class RenewalService:
    def __init__(
        self,
        store: Store,
        presets: PresetCatalog,
        events: EventBus,
        *,
        http: HttpPolicy | None = None,
        clock: Callable[[], float] = time.time,
        flows: Callable[[str], Flow] = load_flow,
    ) -> None:
        self.store = store
        # How a preset's flow is loaded: in this process, or (the tray's) with its calls to the
        # provider in a worker process (trayauth.services.flow_process).
        self.flows = flows
        self.presets = presets
        self.events = events
        self.clock = clock
        self._http = http
        self._locks: dict[str, asyncio.Lock] = {}
        self._renewing: set[str] = set()
        self.logout_deadline = 5.0  # seconds a logout may wait for the provider to revoke
        # Failures that could not be written to the vault (a full disk, a read-only folder):
        # shown on the account from memory until a write succeeds again.
        self._unsaved_errors: dict[str, tuple[str, NextStep | None]] = {}

    # ---- plumbing -------------------------------------------------------------------------

    @property
    def http(self) -> HttpPolicy:
        if self._http is None:
            self._http = HttpPolicy(clock=self.clock)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    def account(self, name: str) -> tuple[Account, Preset]:
        account = self.store.config.get_account(name)
        return account, self.presets.get(account.preset)

    @contextlib.asynccontextmanager
    async def locked(self, name: str) -> AsyncIterator[None]:
        """The lock scope of every write of ``name``'s tokens: this process's asyncio lock, then
        the account's cross-process file lock."""

        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = asyncio.Lock()
        async with lock, AccountLock(self.store.paths, name):
            yield

    def is_renewing(self, name: str) -> bool:
        return name in self._renewing

    def unsaved_error(self, name: str) -> tuple[str, NextStep | None] | None:
        return self._unsaved_errors.get(name)

    def note_error(self, name: str, message: str, step: NextStep | None = None) -> None:
        """Show a failure on the account without writing (a background task's unexpected error)."""
        self._unsaved_errors[name] = (message, step)

    def forget(self, name: str) -> None:
        """The account is gone (removed): nothing of it stays in memory."""
        self._unsaved_errors.pop(name, None)

    def _context(
        self,
        account: Account,
        preset: Preset,
        secrets: Mapping[str, str],
        asker: Asker | None = None,
        open_browser: Callable[[str], bool] | None = None,
        http: HttpPolicy | None = None,
    ) -> FlowContext:

        return FlowContext(
            account=account,
            preset=preset,
            secrets=dict(secrets),
            http=http or self.http,
            clock=self.clock,
            asker=asker,
            open_browser=open_browser,
        )

    # ---- tokens ---------------------------------------------------------------------------

    def cached_token(self, name: str) -> TokenSet | None:
        """The stored token when it needs no renewal: the CLI's fast path, no network."""
        self.store.config.get_account(name)
        tokens = self.store.vault.entry(name).tokens
        if tokens is None or needs_renewal(tokens, self.clock()):
            return None
        self.store.touch(name)
        return tokens

    async def token(self, name: str) -> TokenSet:
        """A token fit to use now, renewed first when it is inside the margin.

        When renewal fails but the old token has not expired, the old token is returned and the
        failure is recorded (``view(name).error``) so callers can warn.
        """
        tokens = self.cached_token(name)
        if tokens is not None:
            return tokens
        result = await self._renew(name, force=False)
        self.store.touch(name)
        return result

    async def refresh(self, name: str) -> TokenSet:
        return await self._renew(name, force=True)

    async def _renew(self, name: str, *, force: bool) -> TokenSet:

        account, preset = self.account(name)
        started = self.clock()
        async with self.locked(name):
            entry = self.store.vault.entry(name)
            tokens = entry.tokens
            now = self.clock()
            # Another caller (this process or another) may have renewed while we waited.
            if (
                tokens is not None
                and not needs_renewal(tokens, now)
                and (not force or tokens.obtained_at >= started)
            ):
                return tokens
            self._renewing.add(name)
            self.events.publish(AccountEvent(EventKind.RENEWING, name))
            try:
                new = await self._renew_locked(account, preset, entry, self.flows(preset.flow))
            except transitions.SessionEnded as exc:
                # Logged out or removed meanwhile: nothing to record on an account that is gone.
                self.events.publish(AccountEvent.failure(EventKind.LOGIN_NEEDED, name, exc))
                raise
            except TrayauthError as exc:
                exc.about(name)  # recorded and shown on this account: it names it
                await self._record_error(name, exc.message, exc.next_step)
                still_valid = tokens is not None and (tokens.expires_at is None or tokens.expires_at > now)
                kind = EventKind.LOGIN_NEEDED if isinstance(exc, LoginRequired) else EventKind.RENEW_FAILED
                self.events.publish(AccountEvent.failure(kind, name, exc))
                if still_valid and not force and tokens is not None:
                    return tokens
                raise
            finally:
                self._renewing.discard(name)
                self.store.vault.release(name)  # space reserved for a rotation it did not use
            left = None if new.expires_at is None else new.expires_at - self.clock()
            # Only a token that just arrived can be "due on arrival": a token that cannot renew
            # itself, handed back in its last minute, is not the provider's doing.
            if new is not tokens and left is not None and needs_renewal(new, self.clock()):
                # Renewing again at once would get the same answer: say so; the scheduler backs off.
                due = TrayauthError(
                    "the provider's new token is already due for renewal "
                    f"({'expired' if left <= 0 else f'{int(left)} s left'} on arrival)",
                    account=name,
                    next_step=NextStep.of(StepKind.CHECK_CLOCK),
                )
                message, step = due.message, due.next_step
                await self._record_error(name, message, step)
                self.events.publish(AccountEvent(EventKind.RENEW_FAILED, name, message, step))
                return new
            self.events.publish(AccountEvent(EventKind.RENEWED, name))
            return new

    async def _renew_locked(
        self, account: Account, preset: Preset, entry: VaultEntry, flow: Flow
    ) -> TokenSet:
        name = account.name
        tokens = entry.tokens
        rotating = preset.options.rotating_refresh
        can_relogin = preset.renew in ("refresh", "relogin") and preset.keep_secrets and bool(entry.secrets)
        # An interrupted rotating refresh may have spent its token: never send it again. With the
        # credentials kept, logging in again costs the user nothing; without them, ask.
        spent = entry.refresh_in_flight and rotating
        if spent and (not can_relogin or preset.interactive):
            raise LoginRequired(
                "the last renewal was interrupted and its refresh token may be spent",
                account=name,
                next_step=NextStep.log_in(name),
            )
        if preset.renew == "refresh" and tokens is not None and tokens.refresh_token and not spent:
            return await self._refresh(account, preset, entry, flow, tokens, rotating)
        if can_relogin:
            ctx = self._context(account, preset, entry.secrets)
            new = await flow.login(ctx)
            return await self._store_renewed(name, preset, entry, new)
        still_valid = tokens is not None and (tokens.expires_at is None or tokens.expires_at > self.clock())
        if still_valid and preset.renew == "none" and tokens is not None:
            return tokens
        if tokens is None:
            raise LoginRequired(
                f"{name} is not logged in", account=name, named=True, next_step=NextStep.log_in(name)
            )
        expired = tokens.expires_at is not None and tokens.expires_at <= self.clock()
        if preset.pasted:
            raise LoginRequired(
                f"the pasted token {'expired' if expired else 'is about to expire'} and cannot renew itself",
                account=name,
                next_step=NextStep.paste_new(name),
            )
        raise LoginRequired(
            f"the token {'expired' if expired else 'is about to expire'} and cannot renew itself",
            account=name,
            next_step=NextStep.log_in(name),
        )

    async def _refresh(
        self,
        account: Account,
        preset: Preset,
        entry: VaultEntry,
        flow: Flow,
        tokens: TokenSet,
        rotating: bool,
    ) -> TokenSet:
        """The refresh grant, and what each way it can end means for the refresh token."""
        name = account.name
        if rotating:
            # Reserve the space to save the new pair, then mark: a full disk refuses here,
            # before the refresh token is spent.
            await asyncio.to_thread(self.store.vault.begin_rotation, name)
            faultpoints.reached("refresh:marked")
        ctx = self._context(account, preset, entry.secrets)
        try:
            new = await flow.refresh(ctx, tokens)
        except NetworkError as exc:
            if not exc.sent or not rotating:
                await self._update(name, transitions.attempt_over)
            raise
        except CredentialsRejected as exc:
            await self._update(name, transitions.refresh_token_dead)
            raise LoginRequired(
                exc.detail, account=exc.account or name, next_step=NextStep.log_in(name)
            ) from None
        except LoginRequired:
            await self._update(name, transitions.refresh_token_dead)
            raise
        except TrayauthError as exc:
            if rotating and exc.accepted:
                # A success answer we could not use (cut off, not JSON, too big, no token):
                # the server may have rotated, so the old refresh token is never sent again.
                raise
            # The server refused (no rotation happened): the refresh token is still good.
            await self._update(name, transitions.attempt_over)
            raise
        faultpoints.reached("refresh:received")
        try:
            new = await self._store_renewed(name, preset, entry, new)
        except StorageError as exc:
            if not rotating:
                raise
            raise LoginRequired(
                f"the provider renewed the session but the new tokens could not be saved "
                f"({exc.detail}); the old refresh token is spent",
                account=name,
                next_step=NextStep.log_in(name),
            ) from None
        faultpoints.reached("refresh:stored")
        return new

    def _with_expiry(
        self, preset: Preset, tokens: TokenSet, secrets: Mapping[str, str], previous: TokenSet | None
    ) -> TokenSet:
        """A token that can renew itself but whose answer stated no expiry is given the previous
        token's lifetime (else an hour): trusting "never" would hand out a token the provider
        may have let lapse long ago, with nothing to notice it."""
        if tokens.expires_at is None and can_renew(preset, VaultEntry(secrets, tokens)):
            return assume_expiry(tokens, previous)
        return tokens

    async def _store_renewed(
        self, name: str, preset: Preset, entry: VaultEntry, tokens: TokenSet
    ) -> TokenSet:
        stored = self._with_expiry(preset, tokens, entry.secrets, entry.tokens)
        await self._update(name, transitions.renewed(name, stored, now=self.clock(), session=entry.session))
        self._unsaved_errors.pop(name, None)
        return stored

    async def _update(self, name: str, step: transitions.Step) -> None:
        """``vault.update`` in a worker thread: it rewrites and fsyncs the whole vault (milliseconds
        per write, far more on a slow disk), which on the event loop would freeze the tray while
        many accounts renew. The caller awaits it, so the order of writes is unchanged."""
        await asyncio.to_thread(self.store.vault.update, name, step)

    async def _record_error(self, name: str, message: str, step: NextStep | None) -> None:
        """Keep the failure on the account; where the vault cannot be written (the very failure,
        often), keep it in memory so the account still says why, instead of failing again."""
        try:
            await self._update(name, transitions.failed(message, step))
        except StorageError:
            self._unsaved_errors[name] = (message, step)
        else:
            self._unsaved_errors.pop(name, None)

    # ---- login and logout -----------------------------------------------------------------

    async def login(
        self,
        name: str,
        secrets: Mapping[str, str],
        *,
        asker: Asker | None = None,
        open_browser: Callable[[str], bool] | None = None,
    ) -> TokenSet:
        """Log in with what the user typed; on failure the old session stays as it was."""

        account, preset = self.account(name)
        preset.check_settings(name, account.settings)
        flow = self.flows(preset.flow)
        clean = {k: v for k, v in secrets.items() if v}
        ctx = self._context(account, preset, clean, asker=asker, open_browser=open_browser)
        async with self.locked(name):
            try:
                tokens = await flow.login(ctx)
            except TrayauthError as exc:
                self.events.publish(AccountEvent.failure(EventKind.LOGIN_FAILED, name, exc))
                raise
            kept = clean if preset.keep_secrets else {}
            previous = self.store.vault.entry(name).tokens
            tokens = self._with_expiry(preset, tokens, kept, previous)
            await self._update(name, transitions.logged_in(tokens, now=self.clock(), secrets=kept))
            self._unsaved_errors.pop(name, None)
        self.store.touch(name)
        self.events.publish(AccountEvent(EventKind.LOGGED_IN, name))
        return tokens

    async def logout(self, name: str) -> RevocationResult:
        """Forget tokens and kept secrets here, then end the session at the provider where it can.

        The local tokens go first, under the account's lock (a renewal in flight finishes first,
        and one that started from this login stores nothing after); revocation (RFC 7009) then
        gets a short deadline and never raises, so a logout never hangs on an unreachable provider.
        """

        account, preset = self.account(name)
        async with self.locked(name):
            entry = self.store.vault.entry(name)
            await asyncio.to_thread(self.store.vault.remove, name)
            self._unsaved_errors.pop(name, None)
        self.events.publish(AccountEvent(EventKind.LOGGED_OUT, name))
        ctx = self._context(account, preset, entry.secrets)
        return await revoke_within(self.flows(preset.flow), ctx, entry.tokens, deadline=self.logout_deadline)
