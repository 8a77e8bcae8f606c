"""The accounts service's rules a mutation run of services/accounts.py showed unpinned: the
default account (chosen, else last used, else first; a hand-edited default naming no account is
ignored), clearing the default, the events the tray listens to, settings changes, what remove
forgets, and the snapshot of an account whose preset cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_broker import login_sentiance
from tests.integration.test_renewal_mutants import World, world
from trayauth.domain.errors import AccountNotFound, LoginRequired, TrayauthError
from trayauth.domain.events import AccountEvent, EventKind
from trayauth.domain.model import Account, State
from trayauth.domain.presets import PresetCatalog
from trayauth.domain.steps import NextStep, StepKind
from trayauth.services.broker import Broker
from trayauth.storage.store import Store

__all__ = ["world"]  # the fixture, registered by being imported here


def sentiance(world: World, name: str) -> Account:
    user = world.srv.users["sentiance"]
    return Account(
        name, "sentiance", {"base_url": world.srv.base_url("sentiance"), "username": user["username"]}
    )


@pytest.mark.asyncio
async def test_add_default_settings_and_remove_are_announced_for_their_account(world: World) -> None:
    broker, events = world.broker, world.events
    broker.add(sentiance(world, "a"))
    broker.set_default("a")
    broker.update_settings("a", {**sentiance(world, "a").settings, "username": "someone@example.com"})
    broker.set_default(None)
    await broker.remove("a")
    assert events == [
        AccountEvent(EventKind.ADDED, "a"),
        AccountEvent(EventKind.CHANGED, "a"),
        AccountEvent(EventKind.CHANGED, "a"),
        AccountEvent(EventKind.CHANGED, ""),  # the default cleared: no account in particular
        AccountEvent(EventKind.REMOVED, "a"),
    ]
    await broker.aclose()


@pytest.mark.asyncio
async def test_update_settings_replaces_the_whole_set(world: World) -> None:
    broker = world.broker
    broker.add(Account("a", "sentiance", {"base_url": "https://example.com", "username": "me"}))
    broker.update_settings("a", {"username": "you"})
    assert broker.store.config.get_account("a").settings == {"username": "you"}
    with pytest.raises(AccountNotFound):
        broker.update_settings("missing", {"username": "you"})
    await broker.aclose()


@pytest.mark.asyncio
async def test_the_default_is_shown_cleared_and_an_unknown_one_refused(world: World) -> None:
    broker = world.broker
    for name in ("a", "b"):
        broker.add(sentiance(world, name))
    broker.set_default("b")
    assert broker.view("b").is_default and not broker.view("a").is_default
    with pytest.raises(AccountNotFound):
        broker.set_default("missing")
    assert broker.default_account() == "b"
    broker.set_default(None)
    assert not broker.view("b").is_default
    assert broker.store.config.load().app.default is None
    await broker.aclose()


@pytest.mark.asyncio
async def test_a_hand_edited_default_naming_no_account_is_ignored(world: World) -> None:
    broker = world.broker
    for name in ("a", "b"):
        broker.add(sentiance(world, name))
    broker.set_default("b")
    config = broker.store.paths.config_file
    text = config.read_text(encoding="utf-8")
    assert text.count('default = "b"') == 1
    config.write_text(text.replace('default = "b"', 'default = "gone"'), encoding="utf-8")
    assert broker.store.config.load().app.default == "gone"
    assert broker.default_account() == "a", "a default that names no account was handed out"
    await broker.aclose()


@pytest.mark.asyncio
async def test_remove_forgets_a_failure_held_in_memory(world: World) -> None:
    broker = world.broker
    broker.add(sentiance(world, "a"))
    broker.note_error("a", "a: the vault could not be written", NextStep.of(StepKind.CHECK_CLOCK))
    await broker.remove("a")
    broker.add(sentiance(world, "a"))
    view = broker.view("a")
    assert view.error is None and view.next_step is None
    await broker.aclose()


@pytest.mark.asyncio
async def test_the_snapshot_says_when_the_account_was_last_used_and_an_expired_token_has_no_time_left(
    world: World,
) -> None:
    broker, srv, clock = world.broker, world.srv, world.clock
    await login_sentiance(broker, srv)
    used = broker.store.last_used()["work"]
    view = broker.view("work")
    assert view.last_used == used
    assert view.expires_at is not None and view.expires_in == int(view.expires_at - clock.now)
    clock.now = view.expires_at + 10
    expired = broker.view("work")
    assert expired.state is State.EXPIRED and expired.expires_in == 0
    await broker.aclose()


@pytest.mark.asyncio
async def test_inspecting_an_account_never_logged_in_asks_for_a_login(world: World) -> None:
    broker = world.broker
    broker.add(sentiance(world, "a"))
    with pytest.raises(LoginRequired) as info:
        broker.inspect("a")
    assert (info.value.message, info.value.account) == ("a is not logged in", "a")
    assert info.value.next_step == NextStep.log_in("a")
    await broker.aclose()


@pytest.mark.asyncio
async def test_an_account_whose_preset_cannot_be_read_is_listed_with_the_reason(
    world: World, tmp_path: Path
) -> None:
    """A user preset deleted (or broken) after the account was added: the list still shows the
    account, under its preset id, as neither renewable nor interactive, and says why."""
    broker, srv = world.broker, world.srv
    await login_sentiance(broker, srv)
    broker.add(Account("gone", "no-such-preset", {}))
    with pytest.raises(TrayauthError) as info:
        broker.presets.get("no-such-preset")
    views = {v.name: v for v in broker.accounts()}
    view = views["gone"]
    assert view.provider == "no-such-preset" and view.preset_id == "no-such-preset"
    assert (view.renewable, view.interactive, view.sign_in_by, view.pasted) == (False, False, None, False)
    reason = info.value.about("gone")  # the list names the account it is about
    assert (view.error, view.next_step) == (reason.message, reason.next_step)
    assert view.error is not None and view.error.startswith("gone: ")
    assert view.state is State.LOGGED_OUT
    assert views["work"].error is None and views["work"].renewable
    assert views["work"].sign_in_by is None, "a session that renews itself has no sign-in-by"
    assert views["work"].pasted is False
    broker.add(Account("b", "bearer", {}))
    assert broker.view("b").pasted is True
    await broker.aclose()


@pytest.mark.asyncio
async def test_with_every_account_removed_the_list_needs_no_vault_key(
    world: World, tmp_path: Path, isolated: Path
) -> None:
    """The vault stays behind, its key may not (a keyring wiped after the last remove): an empty
    list must not fail on a key nothing needs."""
    broker, srv = world.broker, world.srv
    await login_sentiance(broker, srv)
    await broker.remove("work")
    await broker.aclose()
    key_files = list((tmp_path / "data").rglob("keyring_pass.cfg"))
    assert key_files and broker.store.vault.file.exists()
    for key_file in key_files:
        key_file.unlink()
    later = Broker(Store.open(isolated), PresetCatalog())  # a new process: no key in memory
    assert later.accounts() == []
    assert later.default_account() is None
    await later.aclose()
