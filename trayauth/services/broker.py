"""One handle on the services, for the tray and the CLI: a facade, not a god object.

Each service owns one thing: :class:`~trayauth.services.accounts.AccountService` the accounts
(definitions, settings, the default, snapshots), :class:`~trayauth.services.renewal.RenewalService`
the tokens (login, renewal with its lock scope and state machine, logout),
:class:`~trayauth.services.app.AppService` the app's settings, folders and vault key,
:class:`~trayauth.services.events.EventBus` who hears what happened; the scheduler and the agent
are services of their own built on these. ``Broker`` only wires them together and forwards the
calls the UI and the CLI make, so callers need not know which service answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from trayauth.domain.presets import PresetCatalog
from trayauth.flows import load_flow
from trayauth.services.accounts import AccountService, AccountView
from trayauth.services.app import AppService
from trayauth.services.events import EventBus
from trayauth.services.flow_process import ProcessFlows
from trayauth.services.renewal import RenewalService
from trayauth.storage.store import Store
from trayauth.storage.trust import check_private

if TYPE_CHECKING:
    from trayauth.domain.events import AccountEvent
    from trayauth.domain.model import Account, TokenSet
    from trayauth.domain.presets import Preset
    from trayauth.domain.prompts import Asker
    from trayauth.domain.steps import NextStep
    from trayauth.domain.tokens import Inspection
    from trayauth.net.http import HttpPolicy
    from trayauth.protocol.revocation import RevocationResult
    from trayauth.storage.config import AppSettings
    from trayauth.storage.keystore import KeyLocation
    from trayauth.storage.paths import Paths
    from trayauth.storage.store import Store

__all__ = ["AccountView", "Broker"]


class Broker:
    def __init__(
        self,
        store: Store,
        presets: PresetCatalog,
        *,
        http: HttpPolicy | None = None,
        clock: Callable[[], float] = time.time,
        in_workers: bool = False,
    ) -> None:
        """``in_workers``: calls to providers that need no user run in a worker process, one that
        serves them while there are calls (the tray's choice: it then never loads the HTTP stack;
        :mod:`trayauth.services.flow_process`)."""
        self.store = store
        self.presets = presets
        self.clock = clock
        self.events = EventBus()
        self.workers = ProcessFlows(presets) if in_workers else None
        flows = self.workers or load_flow
        self.renewal = RenewalService(store, presets, self.events, http=http, clock=clock, flows=flows)
        self.accounts_service = AccountService(store, presets, self.events, self.renewal, clock=clock)
        self.app = AppService(store)

    @classmethod
    def open(cls, config_dir: Path | None = None, **kwargs: object) -> Broker:

        store = Store.open(config_dir)
        presets = PresetCatalog(store.paths.presets_dir, vet=check_private)
        return cls(store, presets, **kwargs)  # type: ignore[arg-type]

    # ---- events ---------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[AccountEvent], None]) -> Callable[[], None]:
        return self.events.subscribe(callback)

    def publish(self, event: AccountEvent) -> None:
        self.events.publish(event)

    # ---- the app ---------------------------------------------------------------------------

    @property
    def paths(self) -> Paths:
        return self.app.paths

    def app_settings(self) -> AppSettings:
        return self.app.settings()

    def update_app(self, **values: object) -> AppSettings:
        return self.app.update_settings(**values)

    def has_vault(self) -> bool:
        return self.app.has_vault()

    def key_movable(self) -> bool:
        return self.app.key_movable()

    def move_key_to_keyring(self) -> KeyLocation:
        return self.app.move_key_to_keyring()

    # ---- accounts -------------------------------------------------------------------------

    def account(self, name: str) -> tuple[Account, Preset]:
        return self.accounts_service.account(name)

    def key_location(self) -> KeyLocation:
        return self.app.key_location()

    def accounts(self) -> list[AccountView]:
        return self.accounts_service.accounts()

    def view(self, name: str) -> AccountView:
        return self.accounts_service.view(name)

    def default_account(self) -> str | None:
        return self.accounts_service.default_account()

    def inspect(self, name: str) -> Inspection:
        return self.accounts_service.inspect(name)

    def add(self, account: Account) -> None:
        self.accounts_service.add(account)

    def update_settings(self, name: str, settings: Mapping[str, str]) -> None:
        self.accounts_service.update_settings(name, settings)

    async def remove(self, name: str) -> None:
        await self.accounts_service.remove(name)

    def set_default(self, name: str | None) -> None:
        self.accounts_service.set_default(name)

    # ---- tokens ---------------------------------------------------------------------------

    @property
    def http(self) -> HttpPolicy:
        return self.renewal.http

    async def aclose(self) -> None:
        await self.renewal.aclose()
        if self.workers is not None:
            await self.workers.aclose()

    def cached_token(self, name: str) -> TokenSet | None:
        return self.renewal.cached_token(name)

    async def token(self, name: str) -> TokenSet:
        return await self.renewal.token(name)

    async def refresh(self, name: str) -> TokenSet:
        return await self.renewal.refresh(name)

    async def login(
        self,
        name: str,
        secrets: Mapping[str, str],
        *,
        asker: Asker | None = None,
        open_browser: Callable[[str], bool] | None = None,
    ) -> TokenSet:
        return await self.renewal.login(name, secrets, asker=asker, open_browser=open_browser)

    async def logout(self, name: str) -> RevocationResult:
        return await self.renewal.logout(name)

    def is_renewing(self, name: str) -> bool:
        return self.renewal.is_renewing(name)

    def note_error(self, name: str, message: str, step: NextStep | None = None) -> None:
        self.renewal.note_error(name, message, step)
