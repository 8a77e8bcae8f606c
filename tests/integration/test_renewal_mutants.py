"""Renewal rules a mutation run of services/renewal.py showed unpinned, each against the provider
server with the clock in the test's hands.

Each test states what a user relies on: one request when two "Refresh now" meet, a rejected
refresh token dropped (and the kept password used instead), a provider answer that may have
rotated the token treated as spending it, a token already due on arrival kept with the clock
blamed, a pasted token handed back until its exact expiry, an expiry assumed from the previous
token when the answer states none, the password of a preset that keeps none never stored, and the
crash-test kill points reached at the moments their names promise.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.test_broker import login_sentiance
from tests.integration.test_oauth_flows import PUBLIC
from tests.support.clock import FakeClock, Sleeps
from trayauth import faultpoints
from trayauth.demo import ProviderServer
from trayauth.domain.errors import LoginRequired, ProviderError, StorageError, TrayauthError, UsageError
from trayauth.domain.events import AccountEvent, EventKind
from trayauth.domain.model import Account
from trayauth.domain.presets import PresetCatalog
from trayauth.domain.prompts import RecordingAsker
from trayauth.domain.steps import NextStep, StepKind
from trayauth.net.http import HttpPolicy
from trayauth.services.broker import Broker
from trayauth.services.transitions import SessionEnded
from trayauth.storage.atomic import RESERVE_SUFFIX
from trayauth.storage.locks import AccountLock
from trayauth.storage.store import Store


@dataclass
class World:
    broker: Broker
    srv: ProviderServer
    clock: FakeClock
    events: list[AccountEvent]


@pytest.fixture
def world(isolated: Path, fresh_provider: ProviderServer) -> World:
    # A whole second, so a lifetime set through an ISO timestamp comes back exact.
    clock = FakeClock(float(int(fresh_provider.now())))
    http = HttpPolicy(sleep=Sleeps(clock), clock=clock)
    broker = Broker(Store.open(isolated), PresetCatalog(), http=http, clock=clock)
    events: list[AccountEvent] = []
    broker.subscribe(events.append)
    return World(broker, fresh_provider, clock, events)


async def signed_in(world: World) -> str:
    """A logged-in Sentiance account "work" (rotating refresh token), a minute later: a
    "Refresh now" at the very moment of the login would rightly find its token fresh."""
    token = await login_sentiance(world.broker, world.srv)
    world.clock.advance(60)
    return token


def iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat()


def refresh_token_of(broker: Broker, name: str) -> str | None:
    tokens = broker.store.vault.entry(name).tokens
    return None if tokens is None else tokens.refresh_token


# ---- single flight ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_two_refresh_now_at_once_send_one_request_and_share_its_token(world: World) -> None:
    broker, srv = world.broker, world.srv
    old = await signed_in(world)
    before = srv.refreshes("sentiance")
    first, second = await asyncio.gather(broker.refresh("work"), broker.refresh("work"))
    assert srv.refreshes("sentiance") == before + 1, "the second caller renewed again"
    assert first.access_token == second.access_token != old
    assert srv.revoked_families("sentiance") == 0
    await broker.aclose()


@pytest.mark.asyncio
async def test_the_account_shows_renewing_while_it_renews_and_not_after(world: World) -> None:
    broker = world.broker
    await signed_in(world)
    seen: list[tuple[EventKind, str, bool]] = []
    broker.subscribe(lambda e: seen.append((e.kind, e.account, broker.is_renewing("work"))))
    await broker.refresh("work")
    assert seen == [(EventKind.RENEWING, "work", True), (EventKind.RENEWED, "work", False)]
    assert not broker.is_renewing("work")
    await broker.aclose()


# ---- what each end of a refresh means for the refresh token -----------------------------------


@pytest.mark.asyncio
async def test_an_oauth_refresh_token_the_provider_rejects_is_dropped_and_the_kept_password_used(
    world: World,
) -> None:
    broker, srv, events = world.broker, world.srv, world.events
    settings = {"token_url": f"{srv.issuer}/token", "client_id": PUBLIC, "username": "demo"}
    broker.add(Account("work", "oauth2-password", settings))
    first = await broker.login("work", {"password": "demo-password"})
    assert first.refresh_token
    grant = {"error": "invalid_grant", "error_description": "the refresh token was revoked"}
    srv.inject("oauth", "token", {"status": 400, "body": grant})
    world.clock.advance(60)
    with pytest.raises(LoginRequired) as info:
        await broker.refresh("work")
    assert info.value.message.startswith("work: ") and "the refresh token was revoked" in info.value.message
    assert first.refresh_token not in info.value.message
    assert info.value.next_step == NextStep.log_in("work")
    entry = broker.store.vault.entry("work")
    assert entry.tokens is not None and entry.tokens.refresh_token is None, "the dead token was kept"
    assert entry.tokens.access_token == first.access_token and not entry.refresh_in_flight
    assert events[-1] == AccountEvent(
        EventKind.LOGIN_NEEDED, "work", info.value.message, NextStep.log_in("work")
    )
    view = broker.view("work")
    assert view.error == info.value.message and view.next_step == NextStep.log_in("work")
    # The kept password signs in again; the rejected refresh token is never sent again.
    refreshes = srv.refreshes("oauth")
    world.clock.advance(60)
    second = await broker.refresh("work")
    assert srv.refreshes("oauth") == refreshes
    assert second.access_token != first.access_token and srv.check("oauth", second.access_token)
    assert broker.view("work").error is None
    await broker.aclose()


@pytest.mark.asyncio
async def test_a_rejected_sentiance_refresh_token_leaves_an_account_that_cannot_renew(world: World) -> None:
    """No refresh token and no kept password: the account says it cannot renew itself, when to
    sign in again, and a "Refresh now" says the token is about to expire (not that it expired)."""
    broker, srv, clock, events = world.broker, world.srv, world.clock, world.events
    old = await signed_in(world)
    assert broker.view("work").renewable
    srv.inject("sentiance", "auth/token", {"status": 401, "body": {"message": "refresh token revoked"}})
    clock.now = broker.view("work").expires_at - 30  # inside the margin, still valid
    assert (await broker.token("work")).access_token == old
    assert events[-1].kind is EventKind.LOGIN_NEEDED and events[-1].account == "work"
    view = broker.view("work")
    assert refresh_token_of(broker, "work") is None
    assert not view.renewable and view.renew_at is None
    assert view.sign_in_by == view.expires_at
    assert view.next_step == NextStep.log_in("work")
    requests = srv.count("sentiance", "auth/token")
    with pytest.raises(LoginRequired, match="the token is about to expire and cannot renew itself") as info:
        await broker.refresh("work")
    assert info.value.next_step == NextStep.log_in("work")
    clock.now = view.expires_at  # type: ignore[assignment]
    with pytest.raises(LoginRequired, match="work: the token expired and cannot renew itself") as info:
        await broker.token("work")
    assert info.value.next_step == NextStep.log_in("work")
    assert srv.count("sentiance", "auth/token") == requests
    await broker.aclose()


@pytest.mark.asyncio
async def test_a_success_answer_that_cannot_be_read_spends_the_rotating_refresh_token(world: World) -> None:
    """200 with a body that is not JSON: the server may have rotated, so the old refresh token is
    never sent again and the next renewal asks for a login."""
    broker, srv = world.broker, world.srv
    await signed_in(world)
    srv.inject("sentiance", "auth/token", "not_json")
    with pytest.raises(ProviderError):
        await broker.refresh("work")
    assert broker.store.vault.entry("work").refresh_in_flight, "the possibly spent token looks usable"
    requests = srv.count("sentiance", "auth/token")
    with pytest.raises(LoginRequired, match="interrupted") as info:
        await broker.refresh("work")
    assert info.value.next_step == NextStep.log_in("work")
    assert srv.count("sentiance", "auth/token") == requests, "the possibly spent token was sent again"
    await broker.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [300, 500])
async def test_an_answer_outside_2xx_is_a_refusal_and_the_refresh_token_stays_good(
    world: World, status: int
) -> None:
    broker, srv = world.broker, world.srv
    await signed_in(world)
    srv.inject("sentiance", "auth/token", {"status": status, "body": "not now"})
    with pytest.raises(TrayauthError):
        await broker.refresh("work")
    assert not broker.store.vault.entry("work").refresh_in_flight
    # The space reserved to save the new pair is given back: no reservation is left on disk.
    folder = broker.store.vault.file.parent
    assert [f.name for f in folder.iterdir() if f.name.endswith(RESERVE_SUFFIX)] == []
    before = srv.refreshes("sentiance")
    renewed = await broker.refresh("work")
    assert srv.refreshes("sentiance") == before + 1 and srv.check("sentiance", renewed.access_token)
    assert srv.revoked_families("sentiance") == 0
    await broker.aclose()


# ---- a new token already due on arrival --------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("left", [0, -5])
async def test_a_token_already_due_on_arrival_is_stored_and_the_clock_named(world: World, left: int) -> None:
    broker, srv, clock, events = world.broker, world.srv, world.clock, world.events
    old = await signed_in(world)
    srv.inject("sentiance", "auth/token", f'field:expires_at="{iso(clock.now + left)}"')
    new = await broker.refresh("work")
    assert new.access_token != old and new.expires_at == clock.now + left
    assert broker.store.vault.entry("work").tokens == new
    message = "work: the provider's new token is already due for renewal (expired on arrival)"
    step = NextStep.of(StepKind.CHECK_CLOCK)
    assert events[-1] == AccountEvent(EventKind.RENEW_FAILED, "work", message, step)
    view = broker.view("work")
    assert (view.error, view.next_step) == (message, step)
    await broker.aclose()


# ---- tokens that cannot renew themselves -------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("expires", [True, False], ids=["with exp", "never expires"])
async def test_refresh_now_hands_back_a_pasted_token_while_it_is_valid(world: World, expires: bool) -> None:
    broker, srv, clock, events = world.broker, world.srv, world.clock, world.events
    claims: dict[str, object] = {"sub": "x"}
    if expires:
        claims["exp"] = int(clock.now) + 3600
    token = srv.mint_jwt(claims)
    broker.add(Account("b", "bearer", {}))
    await broker.login("b", {"token": token})
    assert broker.view("b").sign_in_by is None, "a pasted token has an expiry, not a sign-in-by"
    clock.advance(60)
    assert (await broker.refresh("b")).access_token == token
    assert events[-1] == AccountEvent(EventKind.RENEWED, "b")
    if expires:
        # In its last minute it is still served, with no error: nothing new arrived, so there
        # is no "new token already due" and no clock to blame.
        clock.now = claims["exp"] - 30  # type: ignore[operator]
        assert (await broker.token("b")).access_token == token
        assert events[-1] == AccountEvent(EventKind.RENEWED, "b")
    assert broker.view("b").error is None
    await broker.aclose()


@pytest.mark.asyncio
async def test_a_pasted_token_is_refused_from_the_second_it_expires(world: World) -> None:
    broker, srv, clock = world.broker, world.srv, world.clock
    expires = int(clock.now) + 3600
    broker.add(Account("b", "bearer", {}))
    await broker.login("b", {"token": srv.mint_jwt({"sub": "x", "exp": expires})})
    clock.now = float(expires)
    for ask in (broker.token, broker.refresh):
        with pytest.raises(
            LoginRequired, match="b: the pasted token expired and cannot renew itself"
        ) as info:
            await ask("b")
        assert info.value.next_step == NextStep.paste_new("b")
    await broker.aclose()


@pytest.mark.asyncio
async def test_renewing_an_account_never_logged_in_asks_for_a_login(world: World) -> None:
    broker, srv = world.broker, world.srv
    user = srv.users["sentiance"]
    broker.add(
        Account("work", "sentiance", {"base_url": srv.base_url("sentiance"), "username": user["username"]})
    )
    with pytest.raises(LoginRequired) as info:
        await broker.refresh("work")
    assert info.value.message == "work is not logged in"  # named once, not "work: work is …"
    assert info.value.next_step == NextStep.log_in("work")
    await broker.aclose()


# ---- an answer that states no expiry -----------------------------------------------------------


@pytest.mark.asyncio
async def test_a_refresh_answer_without_expiry_gets_the_previous_lifetime(world: World) -> None:
    broker, srv, clock = world.broker, world.srv, world.clock
    srv.set_lifetime("sentiance", 600)
    await signed_in(world)
    previous = broker.store.vault.entry("work").tokens
    assert previous is not None and previous.lifetime is not None
    # Sentiance states an absolute expiry, from the server's real clock: against the test's frozen
    # clock the lifetime is 600 s plus however long the machine took to get here (not the hour
    # assumed for a token with no stated expiry).
    assert 600 <= previous.lifetime < 3600
    srv.set_lifetime("sentiance", None)
    new = await broker.refresh("work")
    assert new.expires_at == clock.now + previous.lifetime, "not the previous token's lifetime"
    assert broker.store.vault.entry("work").tokens == new
    await broker.aclose()


@pytest.mark.asyncio
async def test_a_relogin_answer_without_expiry_gets_the_previous_lifetime(world: World) -> None:
    """Senseye renews by logging in again with the kept password; its answers may state no expiry."""
    broker, srv, clock = world.broker, world.srv, world.clock
    user = srv.users["senseye"]
    broker.add(Account("s", "senseye", {"base_url": srv.base_url("senseye"), "username": user["username"]}))
    srv.set_lifetime("senseye", None)
    first = await broker.login("s", {"password": user["password"]})
    assert first.expires_at == clock.now + 3600, "a renewable token with no expiry is given an hour"
    srv.set_lifetime("senseye", 600)
    await broker.login("s", {"password": user["password"]})
    srv.set_lifetime("senseye", None)
    again = await broker.login("s", {"password": user["password"]})
    assert again.expires_at == clock.now + 600, "a new login keeps the previous lifetime too"
    clock.advance(60)
    renewed = await broker.refresh("s")
    assert renewed.access_token != again.access_token and renewed.expires_at == clock.now + 600
    await broker.aclose()


# ---- login -------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_preset_that_keeps_no_secrets_never_stores_the_password(world: World) -> None:
    broker, events = world.broker, world.events
    await signed_in(world)
    assert broker.store.vault.entry("work").secrets == {}
    assert events[-1] == AccountEvent(EventKind.LOGGED_IN, "work")
    assert "work" in broker.store.last_used()
    await broker.aclose()


@pytest.mark.asyncio
async def test_a_failed_login_is_announced_for_its_account(world: World) -> None:
    broker, srv, events = world.broker, world.srv, world.events
    user = srv.users["sentiance"]
    broker.add(
        Account("work", "sentiance", {"base_url": srv.base_url("sentiance"), "username": user["username"]})
    )
    with pytest.raises(TrayauthError) as info:
        await broker.login("work", {"password": "wrong"})
    assert events[-1] == AccountEvent(
        EventKind.LOGIN_FAILED, "work", info.value.message, info.value.next_step
    )
    await broker.aclose()


@pytest.mark.asyncio
async def test_a_login_lacking_a_setting_names_the_account_and_the_setting(world: World) -> None:
    broker = world.broker
    broker.add(Account("work", "sentiance", {}))
    with pytest.raises(UsageError, match="work lacks required settings") as info:
        await broker.login("work", {"password": "x"})
    step = info.value.next_step
    assert step == NextStep.set_setting("work", "sentiance", ("username",))
    await broker.aclose()


@pytest.mark.asyncio
async def test_a_device_code_login_opens_the_browser_on_the_verification_page(world: World) -> None:
    broker, srv = world.broker, world.srv
    broker.add(Account("dev", "oauth2-device", {"issuer": srv.issuer, "client_id": PUBLIC}))
    opened: list[str] = []

    def open_browser(url: str) -> bool:
        opened.append(url)
        srv.approve_device(parse_qs(urlsplit(url).query)["user_code"][0])  # the user approves
        return True

    tokens = await broker.login("dev", {}, asker=RecordingAsker(), open_browser=open_browser)
    assert len(opened) == 1 and opened[0].startswith(f"{srv.issuer}/device")
    assert srv.check("oauth", tokens.access_token)
    await broker.aclose()


# ---- failures kept in memory (a vault that cannot be written) ----------------------------------


@pytest.mark.asyncio
async def test_an_unsaved_failure_shows_until_a_login_renewal_or_logout_succeeds(world: World) -> None:
    broker, srv, clock = world.broker, world.srv, world.clock
    await signed_in(world)
    step = NextStep.of(StepKind.CHECK_CLOCK)
    for succeed in (
        broker.refresh,
        lambda name: broker.login(name, {"password": srv.users["sentiance"]["password"]}),
    ):
        broker.note_error("work", "work: something broke", step)
        view = broker.view("work")
        assert (view.error, view.next_step) == ("work: something broke", step)
        clock.advance(60)
        await succeed("work")
        assert broker.view("work").error is None
    # A failure the vault could store replaces the one held in memory.
    broker.note_error("work", "work: something broke", step)
    clock.advance(60)
    srv.inject("sentiance", "auth/token", {"status": 500, "body": "boom"})
    with pytest.raises(TrayauthError):
        await broker.refresh("work")
    assert "500" in (broker.view("work").error or "")
    broker.note_error("work", "work: something broke", step)
    await broker.logout("work")
    assert broker.view("work").error is None
    assert world.events[-1] == AccountEvent(EventKind.LOGGED_OUT, "work")
    await broker.aclose()


# ---- the crash-test kill points ----------------------------------------------------------------


class Killed(BaseException):
    """What the kill point does here instead of SIGKILL, so the test can look at the vault."""


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("point", "in_flight", "server_rotated", "stored_new"),
    [
        ("refresh:marked", True, False, False),
        ("refresh:received", True, True, False),
        ("refresh:stored", False, True, True),
    ],
)
async def test_each_kill_point_of_a_rotating_refresh_is_where_its_name_says(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    point: str,
    in_flight: bool,
    server_rotated: bool,
    stored_new: bool,
) -> None:
    """The crash tests kill a process at these names and check what survives; each must be
    reached once, at its moment: past the mark, after the answer, after the store."""
    broker, srv = world.broker, world.srv
    await signed_in(world)
    old_refresh = refresh_token_of(broker, "work")
    before = srv.refreshes("sentiance")

    def die() -> None:
        raise Killed(point)

    monkeypatch.setenv(faultpoints.ENV, point)
    monkeypatch.setattr(faultpoints, "_die", die)
    with pytest.raises(Killed):
        await broker.refresh("work")
    monkeypatch.delenv(faultpoints.ENV)
    entry = broker.store.vault.entry("work")
    assert entry.refresh_in_flight is in_flight
    assert srv.refreshes("sentiance") == before + server_rotated
    assert (refresh_token_of(broker, "work") != old_refresh) is stored_new
    await broker.aclose()


@pytest.mark.asyncio
async def test_a_kept_secret_does_not_make_a_pasted_token_renewable(world: World) -> None:
    """A user's preset may keep the pasted token (keep_secrets) yet renew = "none": nothing can
    renew it, so it is not shown as renewing itself, and at its expiry it asks for a login
    instead of "logging in again" with the very token that expired."""
    broker, srv, clock = world.broker, world.srv, world.clock
    bearer = broker.presets.get("bearer")
    broker.presets._cache["bearer"] = replace(bearer, keep_secrets=True)
    expires = int(clock.now) + 3600
    token = srv.mint_jwt({"sub": "x", "exp": expires})
    broker.add(Account("b", "bearer", {}))
    await broker.login("b", {"token": token})
    assert broker.store.vault.entry("b").secrets == {"token": token}
    view = broker.view("b")
    assert not view.renewable and view.renew_at is None
    clock.now = float(expires)
    with pytest.raises(LoginRequired, match="the pasted token expired and cannot renew itself") as info:
        await broker.refresh("b")
    assert info.value.next_step == NextStep.paste_new("b")
    await broker.aclose()


@pytest.mark.asyncio
async def test_a_valid_token_is_handed_out_while_another_process_holds_the_account_lock(
    world: World,
) -> None:
    """Another process renewing (or logging out) holds the account's lock; a token that needs no
    renewal is read without waiting for it: the CLI's fast path and the agent's answer."""
    broker = world.broker
    token = await signed_in(world)
    with AccountLock(broker.store.paths, "work"):
        assert broker.cached_token("work") is not None
        assert (await broker.token("work")).access_token == token
    world.clock.now = broker.view("work").expires_at - 30  # inside the margin: not cached
    assert broker.cached_token("work") is None
    await broker.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("rotating", [True, False], ids=["rotating", "reusable"])
async def test_a_new_pair_that_cannot_be_saved(
    world: World, monkeypatch: pytest.MonkeyPatch, rotating: bool
) -> None:
    """The provider answered, then the vault cannot be written (an OS error: here its lock path
    became a folder). A rotating refresh token is spent by then: the user is told to log in
    again, and the next renewal never sends it. A reusable one is not marked spent: the storage
    error is said as such. Either way the account shows why, from memory, as the vault cannot say it."""
    broker, srv = world.broker, world.srv
    if not rotating:
        preset = broker.presets.get("sentiance")
        broker.presets._cache["sentiance"] = replace(
            preset, options=replace(preset.options, rotating_refresh=False)
        )
    await signed_in(world)
    lock = broker.store.vault.lock_path

    def break_the_disk() -> None:  # at the moment the new pair has arrived
        lock.unlink(missing_ok=True)
        lock.mkdir()

    monkeypatch.setenv(faultpoints.ENV, "refresh:received")
    monkeypatch.setattr(faultpoints, "_die", break_the_disk)
    if rotating:
        with pytest.raises(LoginRequired, match="the old refresh token is spent") as info:
            await broker.refresh("work")
        assert info.value.next_step == NextStep.log_in("work")
    else:
        with pytest.raises(StorageError) as info:  # type: ignore[assignment]
            await broker.refresh("work")
        assert info.value.message.startswith("work: "), "a storage error says which account it hit"
    folder = broker.store.vault.file.parent
    assert [f.name for f in folder.iterdir() if f.name.endswith(RESERVE_SUFFIX)] == []
    view = broker.view("work")
    assert (view.error, view.next_step) == (info.value.message, info.value.next_step)
    monkeypatch.delenv(faultpoints.ENV)
    lock.rmdir()
    assert broker.store.vault.entry("work").refresh_in_flight is rotating
    if rotating:
        requests = srv.count("sentiance", "auth/token")
        with pytest.raises(LoginRequired, match="interrupted"):
            await broker.refresh("work")
        assert srv.count("sentiance", "auth/token") == requests
    await broker.aclose()


@pytest.mark.asyncio
async def test_a_renewal_whose_login_ended_meanwhile_says_so_and_stores_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Logged out by a process that found the account's lock file deleted by hand, at the moment
    the new pair arrived: the renewal drops it and announces that a login is needed."""
    broker, events = world.broker, world.events
    await signed_in(world)

    def logged_out_elsewhere() -> None:
        broker.store.vault.remove("work")

    monkeypatch.setenv(faultpoints.ENV, "refresh:received")
    monkeypatch.setattr(faultpoints, "_die", logged_out_elsewhere)
    with pytest.raises(SessionEnded) as info:
        await broker.refresh("work")
    assert "work was logged out or removed while it renewed" in info.value.message
    assert info.value.next_step == NextStep.log_in("work")
    assert events[-1] == AccountEvent(
        EventKind.LOGIN_NEEDED, "work", info.value.message, info.value.next_step
    )
    assert broker.store.vault.entry("work").tokens is None
    await broker.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("due", [False, True], ids=["cached", "renewed"])
async def test_handing_out_a_token_marks_the_account_as_used(world: World, isolated: Path, due: bool) -> None:
    """The default account falls back to the last used one, so `token` must record the use,
    whether the token came from the vault as it was or was renewed first."""
    broker, srv, clock = world.broker, world.srv, world.clock
    for name in ("a", "b"):
        await login_sentiance(broker, srv, name)
    await broker.aclose()
    broker.store.state_file.unlink()  # no use recorded yet (as before any login, say)
    fresh = Broker(Store.open(isolated), PresetCatalog(), http=HttpPolicy(clock=clock), clock=clock)
    if due:
        clock.now = fresh.view("a").expires_at - 30  # type: ignore[operator]
    await fresh.token("a")
    assert list(Store.open(isolated).last_used()) == ["a"]
    assert fresh.default_account() == "a"
    await fresh.aclose()


@pytest.mark.asyncio
async def test_a_logout_waits_for_the_provider_no_longer_than_its_deadline(world: World) -> None:
    broker, srv = world.broker, world.srv
    settings = {"token_url": f"{srv.issuer}/token", "client_id": PUBLIC, "username": "demo"}
    broker.add(Account("work", "oauth2-password", {**settings, "revocation_url": f"{srv.issuer}/revoke"}))
    await broker.login("work", {"password": "demo-password"})
    srv.inject("oauth", "revoke", "delay:1")
    broker.renewal.logout_deadline = 0.05
    result = await broker.logout("work")
    assert "no answer within 0.05 s" in result.detail
    assert broker.store.vault.entry("work").tokens is None
    await broker.aclose()


@pytest.mark.asyncio
async def test_a_pasted_token_whose_preset_claims_to_renew_says_it_is_about_to_expire(world: World) -> None:
    """A user's pasted-token preset that says renew = "relogin" but keeps nothing to log in with:
    in its last minute, a renewal says the pasted token is about to expire (not that it expired)
    and that a new one must be pasted."""
    broker, srv, clock = world.broker, world.srv, world.clock
    broker.presets._cache["bearer"] = replace(broker.presets.get("bearer"), renew="relogin")
    expires = int(clock.now) + 3600
    broker.add(Account("b", "bearer", {}))
    await broker.login("b", {"token": srv.mint_jwt({"sub": "x", "exp": expires})})
    clock.now = float(expires - 30)
    with pytest.raises(LoginRequired) as info:
        await broker.refresh("b")
    assert info.value.message == "b: the pasted token is about to expire and cannot renew itself"
    assert info.value.next_step == NextStep.paste_new("b")
    await broker.aclose()
