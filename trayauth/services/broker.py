"""The one place that decides: this token is good, renew it, or ask the user.

Everything that wants a token (the CLI, the tray, the agent socket, the background scheduler)
asks the broker, so the rules live once: renew inside the margin, single-flight per account in
this process (an asyncio lock) and across processes (a file lock), re-read the vault after the
lock because another process may have renewed already, never send a refresh token that may have
been spent, keep the old token while it is still valid when renewal fails, and say why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from trayauth import faultpoints
from trayauth.domain.errors import (
    CredentialsRejected,
    LoginRequired,
    NetworkError,
    StorageError,
    TrayauthError,
    UsageError,
)
from trayauth.domain.events import AccountEvent, EventKind
from trayauth.domain.model import Account, State, TokenSet
from trayauth.domain.presets import Preset, PresetCatalog
from trayauth.domain.steps import NextStep, StepKind
from trayauth.domain.tokens import (
    Inspection,
    assume_expiry,
    inspect_token,
    needs_renewal,
    renew_at,
    session_ends_at,
    state_of,
)

if TYPE_CHECKING:
    import asyncio

    from trayauth.domain.prompts import Asker
    from trayauth.flows import Flow
    from trayauth.flows.base import FlowContext
    from trayauth.net.http import HttpPolicy
    from trayauth.protocol.revocation import RevocationResult
    from trayauth.storage.keystore import KeyLocation
    from trayauth.storage.store import Store
    from trayauth.storage.vault import VaultEntry


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


class Broker:
    def __init__(
        self,
        store: Store,
        presets: PresetCatalog,
        *,
        http: HttpPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.presets = presets
        self.clock = clock
        self._http = http
        self._locks: dict[str, asyncio.Lock] = {}
        self._listeners: list[Callable[[AccountEvent], None]] = []
        self._renewing: set[str] = set()
        self.logout_deadline = 5.0  # seconds a logout may wait for the provider to revoke
        # Failures that could not be written to the vault (a full disk, a read-only folder):
        # shown on the account from memory until a write succeeds again.
        self._unsaved_errors: dict[str, tuple[str, NextStep | None]] = {}

    @classmethod
    def open(cls, config_dir: Path | None = None, **kwargs: object) -> Broker:
        from trayauth.storage.store import Store
        from trayauth.storage.trust import check_private

        store = Store.open(config_dir)
        presets = PresetCatalog(store.paths.presets_dir, vet=check_private)
        return cls(store, presets, **kwargs)  # type: ignore[arg-type]

    # ---- plumbing -------------------------------------------------------------------------

    @property
    def http(self) -> HttpPolicy:
        if self._http is None:
            from trayauth.net.http import HttpPolicy  # deferred: httpx is not on the fast path

            self._http = HttpPolicy(clock=self.clock)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    def subscribe(self, callback: Callable[[AccountEvent], None]) -> Callable[[], None]:
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def publish(self, event: AccountEvent) -> None:
        for listener in list(self._listeners):
            listener(event)

    def _lock(self, name: str) -> asyncio.Lock:
        lock = self._locks.get(name)
        if lock is None:
            import asyncio  # deferred: the CLI's cached-token path never needs an event loop

            lock = self._locks[name] = asyncio.Lock()
        return lock

    def account(self, name: str) -> tuple[Account, Preset]:
        account = self.store.config.get_account(name)
        return account, self.presets.get(account.preset)

    def key_location(self) -> KeyLocation:
        return self.store.vault.key_location()

    # ---- snapshots ------------------------------------------------------------------------

    def _renewable(self, preset: Preset, entry: VaultEntry) -> bool:
        if preset.renew == "refresh" and entry.tokens is not None and entry.tokens.refresh_token:
            return not entry.refresh_in_flight
        if preset.renew in ("refresh", "relogin") and preset.keep_secrets and entry.secrets:
            return not preset.interactive
        return False

    def _view(self, account: Account, entry: VaultEntry, default: str | None, now: float) -> AccountView:
        try:
            preset = self.presets.get(account.preset)
            provider, interactive = preset.label, preset.interactive
            renewable = self._renewable(preset, entry)
            sign_in_by = session_ends_at(preset.renew, renewable, entry.tokens)
        except TrayauthError as exc:
            provider, interactive, renewable, sign_in_by = account.preset, False, False, None
            entry = replace(entry, last_error=exc.message, last_step=exc.next_step)
        unsaved = self._unsaved_errors.get(account.name)
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
        )

    def accounts(self) -> list[AccountView]:
        config = self.store.config.load()
        entries = self.store.vault.read_all() if config.accounts else {}
        from trayauth.storage.vault import VaultEntry

        now = self.clock()
        return [
            self._view(acct, entries.get(name, VaultEntry(secrets={}, tokens=None)), config.app.default, now)
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

    def next_due(self) -> float | None:
        """The earliest moment a renewable account needs renewing (for the scheduler)."""
        dues = [v.renew_at for v in self.accounts() if v.renew_at is not None]
        return min(dues) if dues else None

    def inspect(self, name: str) -> Inspection:
        self.account(name)
        tokens = self.store.vault.entry(name).tokens
        if tokens is None:
            raise LoginRequired(f"{name} is not logged in", next_step=NextStep.log_in(name))
        return inspect_token(tokens)

    # ---- configuration --------------------------------------------------------------------

    def add(self, account: Account) -> None:
        self.store.config.add_account(account)
        self.publish(AccountEvent(EventKind.ADDED, account.name))

    def remove(self, name: str) -> None:
        self.store.config.get_account(name)
        self.store.vault.remove(name)
        self.store.config.remove_account(name)
        self.publish(AccountEvent(EventKind.REMOVED, name))

    def set_default(self, name: str | None) -> None:
        if name is not None:
            self.store.config.get_account(name)
        self.store.config.set_default(name)
        self.publish(AccountEvent(EventKind.CHANGED, name or ""))

    # ---- tokens ---------------------------------------------------------------------------

    def cached_token(self, name: str) -> TokenSet | None:
        """The stored token when it needs no renewal: the CLI's fast path, no network, no asyncio."""
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

    def _context(
        self,
        account: Account,
        preset: Preset,
        secrets: Mapping[str, str],
        asker: Asker | None = None,
        open_browser: Callable[[str], bool] | None = None,
        http: HttpPolicy | None = None,
    ) -> FlowContext:
        from trayauth.flows.base import FlowContext

        return FlowContext(
            account=account,
            preset=preset,
            secrets=dict(secrets),
            http=http or self.http,
            clock=self.clock,
            asker=asker,
            open_browser=open_browser,
        )

    async def _renew(self, name: str, *, force: bool) -> TokenSet:
        from trayauth.flows import load_flow
        from trayauth.storage.locks import AccountLock

        account, preset = self.account(name)
        started = self.clock()
        async with self._lock(name), AccountLock(self.store.paths, name):
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
            self.publish(AccountEvent(EventKind.RENEWING, name))
            try:
                new = await self._renew_locked(account, preset, entry, load_flow(preset.flow))
            except TrayauthError as exc:
                await self._record_error(name, exc.message, exc.next_step)
                still_valid = tokens is not None and (tokens.expires_at is None or tokens.expires_at > now)
                kind = EventKind.LOGIN_NEEDED if isinstance(exc, LoginRequired) else EventKind.RENEW_FAILED
                self.publish(AccountEvent.failure(kind, name, exc))
                if still_valid and not force and tokens is not None:
                    return tokens
                raise
            finally:
                self._renewing.discard(name)
                self.store.vault.release(name)  # space reserved for a rotation it did not use
            left = None if new.expires_at is None else new.expires_at - self.clock()
            if left is not None and needs_renewal(new, self.clock()):
                # Renewing again at once would get the same answer: say so; the scheduler backs off.
                message = (
                    f"{name}: the provider's new token is already due for renewal "
                    f"({'expired' if left <= 0 else f'{int(left)} s left'} on arrival)"
                )
                step = NextStep.of(StepKind.CHECK_CLOCK)
                await self._record_error(name, message, step)
                self.publish(AccountEvent(EventKind.RENEW_FAILED, name, message, step))
                return new
            self.publish(AccountEvent(EventKind.RENEWED, name))
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
                f"{name}: the last renewal was interrupted and its refresh token may be spent",
                next_step=NextStep.log_in(name),
            )
        if preset.renew == "refresh" and tokens is not None and tokens.refresh_token and not spent:
            if rotating:
                # Reserve the space to save the new pair, then mark: a full disk refuses here,
                # before the refresh token is spent.
                await self._in_thread(self.store.vault.begin_rotation, name)
                faultpoints.reached("refresh:marked")
            http = self.http.session()
            ctx = self._context(account, preset, entry.secrets, http=http)
            try:
                new = await flow.refresh(ctx, tokens)
            except NetworkError as exc:
                if not exc.sent or not rotating:
                    await self._update(name, lambda e: replace(e, refresh_in_flight=False))
                raise
            except CredentialsRejected as exc:
                # The refresh token is dead: drop it so nobody sends it again; keep the access token.
                await self._update(
                    name,
                    lambda e: replace(
                        e,
                        tokens=replace(e.tokens, refresh_token=None) if e.tokens else None,
                        refresh_in_flight=False,
                    ),
                )
                raise LoginRequired(exc.message, next_step=NextStep.log_in(name)) from None
            except LoginRequired:
                await self._update(
                    name,
                    lambda e: replace(
                        e,
                        tokens=replace(e.tokens, refresh_token=None) if e.tokens else None,
                        refresh_in_flight=False,
                    ),
                )
                raise
            except TrayauthError:
                if rotating and http.last_status is not None and 200 <= http.last_status < 300:
                    # A success answer we could not use (cut off, not JSON, too big, no token):
                    # the server may have rotated, so the old refresh token is never sent again.
                    raise
                # The server refused (no rotation happened): the refresh token is still good.
                await self._update(name, lambda e: replace(e, refresh_in_flight=False))
                raise
            faultpoints.reached("refresh:received")
            try:
                new = await self._store_tokens(name, preset, new, keep_secrets=None)
            except StorageError as exc:
                if not rotating:
                    raise
                raise LoginRequired(
                    f"{name}: the provider renewed the session but the new tokens could not be saved "
                    f"({exc.message}); the old refresh token is spent",
                    next_step=NextStep.log_in(name),
                ) from None
            faultpoints.reached("refresh:stored")
            return new
        if can_relogin:
            ctx = self._context(account, preset, entry.secrets)
            new = await flow.login(ctx)
            return await self._store_tokens(name, preset, new, keep_secrets=None)
        still_valid = tokens is not None and (tokens.expires_at is None or tokens.expires_at > self.clock())
        if still_valid and preset.renew == "none" and tokens is not None:
            return tokens
        if tokens is None:
            raise LoginRequired(f"{name} is not logged in", next_step=NextStep.log_in(name))
        expired = tokens.expires_at is not None and tokens.expires_at <= self.clock()
        raise LoginRequired(
            f"{name}: the token {'expired' if expired else 'is about to expire'} and cannot renew itself",
            next_step=NextStep.log_in(name),
        )

    async def _update(self, name: str, fn: Callable[[VaultEntry], VaultEntry | None]) -> None:
        """``vault.update`` in a worker thread: it rewrites and fsyncs the whole vault (milliseconds
        per write, far more on a slow disk), which on the event loop would freeze the tray while
        many accounts renew. The caller awaits it, so the order of writes is unchanged."""
        await self._in_thread(self.store.vault.update, name, fn)

    async def _in_thread(self, fn: Callable[..., object], *args: object) -> None:
        import asyncio

        await asyncio.to_thread(fn, *args)

    async def _store_tokens(
        self, name: str, preset: Preset, tokens: TokenSet, *, keep_secrets: Mapping[str, str] | None
    ) -> TokenSet:
        """Store what a flow obtained; returns it as stored.

        A token that can renew itself but whose answer stated no expiry is given the previous
        token's lifetime (else an hour): trusting "never" would hand out a token the provider
        may have let lapse long ago, with nothing to notice it.
        """
        from trayauth.storage.vault import VaultEntry

        stored = tokens

        def apply(entry: VaultEntry) -> VaultEntry:
            nonlocal stored
            secrets = entry.secrets if keep_secrets is None else keep_secrets
            if tokens.expires_at is None and self._renewable(preset, VaultEntry(secrets, tokens)):
                stored = assume_expiry(tokens, entry.tokens)
            return VaultEntry(
                secrets=dict(secrets),
                tokens=stored,
                refresh_in_flight=False,
                last_error=None,
                updated_at=self.clock(),
            )

        await self._update(name, apply)
        self._unsaved_errors.pop(name, None)
        return stored

    async def _record_error(self, name: str, message: str, step: NextStep | None) -> None:
        """Keep the failure on the account; where the vault cannot be written (the very failure,
        often), keep it in memory so the account still says why, instead of failing again."""
        try:
            await self._update(name, lambda e: replace(e, last_error=message, last_step=step))
        except StorageError:
            self._unsaved_errors[name] = (message, step)
        else:
            self._unsaved_errors.pop(name, None)

    def note_error(self, name: str, message: str, step: NextStep | None = None) -> None:
        """Show a failure on the account without writing (a background task's unexpected error)."""
        self._unsaved_errors[name] = (message, step)

    async def login(
        self,
        name: str,
        secrets: Mapping[str, str],
        *,
        asker: Asker | None = None,
        open_browser: Callable[[str], bool] | None = None,
    ) -> TokenSet:
        """Log in with what the user typed; on failure the old session stays as it was."""
        from trayauth.flows import load_flow
        from trayauth.storage.locks import AccountLock

        account, preset = self.account(name)
        missing = [
            f.key
            for f in preset.setting_fields
            if f.required and not account.settings.get(f.key) and not f.default
        ]
        if missing:
            raise UsageError(
                f"{name} lacks required settings: {', '.join(missing)}",
                next_step=NextStep.set_setting(name, preset.id, tuple(missing)),
            )
        flow = load_flow(preset.flow)
        clean = {k: v for k, v in secrets.items() if v}
        ctx = self._context(account, preset, clean, asker=asker, open_browser=open_browser)
        async with self._lock(name), AccountLock(self.store.paths, name):
            try:
                tokens = await flow.login(ctx)
            except TrayauthError as exc:
                self.publish(AccountEvent.failure(EventKind.LOGIN_FAILED, name, exc))
                raise
            kept = clean if preset.keep_secrets else {}
            tokens = await self._store_tokens(name, preset, tokens, keep_secrets=kept)
        self.store.touch(name)
        self.publish(AccountEvent(EventKind.LOGGED_IN, name))
        return tokens

    async def logout(self, name: str) -> RevocationResult:
        """Forget tokens and kept secrets here, then end the session at the provider where it can.

        The local tokens go first and regardless; revocation (RFC 7009) then gets a short
        deadline and never raises, so a logout never hangs on an unreachable provider.
        """
        from trayauth.flows import load_flow
        from trayauth.flows.revocation import revoke_within
        from trayauth.storage.locks import AccountLock

        account, preset = self.account(name)
        async with self._lock(name), AccountLock(self.store.paths, name):
            entry = self.store.vault.entry(name)
            self.store.vault.remove(name)
        self.publish(AccountEvent(EventKind.LOGGED_OUT, name))
        ctx = self._context(account, preset, entry.secrets)
        return await revoke_within(load_flow(preset.flow), ctx, entry.tokens, deadline=self.logout_deadline)

    def is_renewing(self, name: str) -> bool:
        return name in self._renewing
