"""Every OAuth flow against the local provider server, with the test playing the browser."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import pytest_asyncio

from tests.support.clock import FakeClock
from trayauth.cli.wording import line as cli_line
from trayauth.cli.wording import step_of as cli_step
from trayauth.demo import ProviderServer
from trayauth.domain.errors import (
    CredentialsRejected,
    LoginCancelled,
    LoginRequired,
    LoginTimeout,
    NetworkError,
    TrayauthError,
    UsageError,
)
from trayauth.domain.model import Account, TokenSet
from trayauth.domain.presets import Preset, load_preset
from trayauth.domain.prompts import BrowserSignIn, DeviceCode, RecordingAsker
from trayauth.flows import discovery, load_flow
from trayauth.flows.base import FlowContext
from trayauth.net.http import HttpPolicy

PUBLIC, CONFIDENTIAL, SECRET = "trayauth-public", "trayauth-confidential", "demo-client-secret"
APP, APP_SECRET = "demo-attentive-app", "demo-attentive-client-secret"


def make_ctx(
    preset: str | Preset,
    settings: Mapping[str, str],
    http: HttpPolicy,
    secrets: Mapping[str, str] | None = None,
    *,
    asker: RecordingAsker | None = None,
    clock: Any = time.time,
) -> FlowContext:
    loaded = load_preset(preset) if isinstance(preset, str) else preset
    return FlowContext(
        account=Account("work", loaded.id, dict(settings)),
        preset=loaded,
        secrets=dict(secrets or {}),
        http=http,
        clock=clock,
        asker=asker,
        open_browser=None,
    )


async def question_of(asker: RecordingAsker) -> Any:
    await asyncio.wait_for(asker.event.wait(), 5)
    return asker.questions[-1]


async def play_browser(asker: RecordingAsker) -> httpx.Response:
    """Open the sign-in URL and follow the provider's redirect to the loopback, as a browser would."""
    question = await question_of(asker)
    assert isinstance(question, BrowserSignIn)
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        return await browser.get(question.url)


async def approve_without_following(asker: RecordingAsker) -> tuple[BrowserSignIn, str]:
    """Open the sign-in URL, but stop at the provider's redirect: (question, redirect location)."""
    question = await question_of(asker)
    assert isinstance(question, BrowserSignIn)
    async with httpx.AsyncClient() as browser:
        resp = await browser.get(question.url)
    assert resp.status_code == 302, resp.text
    return question, resp.headers["location"]


async def works(srv: ProviderServer, vendor: str, tokens: TokenSet) -> bool:
    async with httpx.AsyncClient() as client:
        resp = await client.get(
            f"{srv.base_url(vendor)}/whoami", headers={"Authorization": f"Bearer {tokens.access_token}"}
        )
    return resp.status_code == 200 and srv.check(vendor, tokens.access_token)


async def browser_login(ctx: FlowContext) -> tuple[TokenSet, httpx.Response]:
    assert isinstance(ctx.asker, RecordingAsker)
    task = asyncio.create_task(load_flow(ctx.preset.flow).login(ctx))
    page = await play_browser(ctx.asker)
    return await asyncio.wait_for(task, 10), page


# ---- authorization code ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_oauth2_public_client_through_discovery(srv: ProviderServer, http: HttpPolicy) -> None:
    ctx = make_ctx("oauth2", {"issuer": srv.issuer, "client_id": PUBLIC}, http, asker=RecordingAsker())
    before = time.time()
    tokens, page = await browser_login(ctx)
    assert page.status_code == 200 and "You may close this tab" in page.text
    assert "code=" not in page.text and tokens.access_token not in page.text
    question = ctx.asker.questions[0]  # type: ignore[union-attr]
    sent = parse_qs(urlsplit(question.url).query)
    assert sent["code_challenge_method"] == ["S256"] and sent["scope"] == ["openid offline_access"]
    assert sent["redirect_uri"][0].startswith("http://127.0.0.1:")
    assert question.finished
    assert await works(srv, "oauth", tokens)
    assert tokens.refresh_token
    assert tokens.expires_at is not None and abs(tokens.expires_at - (before + 3600)) < 30
    assert tokens.scopes == ("openid", "offline_access")
    assert tokens.token_type == "Bearer"
    assert "id_token" not in tokens.extra and "refresh_token" not in tokens.extra
    assert srv.count("oauth", "openid-configuration") == 1


@pytest.mark.asyncio
async def test_oauth2_confidential_client_with_endpoints_by_hand(
    srv: ProviderServer, http: HttpPolicy
) -> None:
    settings = {
        "authorize_url": f"{srv.issuer}/authorize",
        "token_url": f"{srv.issuer}/token",
        "client_id": CONFIDENTIAL,
        "scopes": "api",
    }
    ctx = make_ctx("oauth2", settings, http, {"client_secret": SECRET}, asker=RecordingAsker())
    tokens, _ = await browser_login(ctx)
    assert await works(srv, "oauth", tokens)
    assert tokens.scopes == ("api",)
    assert srv.count("oauth", "openid-configuration") == 0, "no discovery when the endpoints are given"
    wrong = make_ctx("oauth2", settings, http, {"client_secret": "not-the-secret"}, asker=RecordingAsker())
    with pytest.raises(CredentialsRejected, match="client id or client secret") as info:
        await browser_login(wrong)
    assert "not-the-secret" not in cli_line(info.value)


@pytest.mark.asyncio
async def test_refresh_rotates_and_never_resends_a_spent_token(srv: ProviderServer, http: HttpPolicy) -> None:
    settings = {"issuer": srv.issuer, "client_id": CONFIDENTIAL}
    ctx = make_ctx("oauth2", settings, http, {"client_secret": SECRET}, asker=RecordingAsker())
    first, _ = await browser_login(ctx)
    flow = load_flow("authorization_code")
    background = make_ctx("oauth2", settings, http, {"client_secret": SECRET})  # no asker, like the broker
    second = await flow.refresh(background, first)
    assert second.refresh_token and second.refresh_token != first.refresh_token, "the new one is kept"
    assert second.access_token != first.access_token
    assert second.scopes == first.scopes
    third = await flow.refresh(background, second)
    assert await works(srv, "oauth", third)
    assert srv.refreshes("oauth") == 2
    assert srv.revoked_families("oauth") == 0, "no spent refresh token was ever sent again"
    with pytest.raises(CredentialsRejected) as info:
        await flow.refresh(background, first)  # what a client that forgot to store the new one would do
    assert "the refresh token was rejected" in info.value.message and "invalid_grant" in info.value.message
    assert cli_step(info.value) == "run 'trayauth login work'"
    assert str(first.refresh_token) not in cli_line(info.value)


@pytest.mark.asyncio
async def test_refresh_without_a_new_refresh_token_keeps_the_old(
    srv: ProviderServer, http: HttpPolicy
) -> None:
    ctx = make_ctx("oauth2", {"issuer": srv.issuer, "client_id": PUBLIC}, http, asker=RecordingAsker())
    first, _ = await browser_login(ctx)
    srv.inject("oauth", "token", "field:refresh_token=null")
    second = await load_flow("authorization_code").refresh(ctx, first)
    assert second.refresh_token == first.refresh_token
    assert second.access_token != first.access_token


@pytest.mark.asyncio
async def test_a_refresh_that_fails_before_sending_leaves_the_refresh_token_good(
    srv: ProviderServer, http: HttpPolicy
) -> None:
    ctx = make_ctx("oauth2", {"issuer": srv.issuer, "client_id": PUBLIC}, http, asker=RecordingAsker())
    first, _ = await browser_login(ctx)
    discovery.forget()
    srv.inject("oauth", "openid-configuration", "reset")
    flow = load_flow("authorization_code")
    with pytest.raises(NetworkError) as info:
        await flow.refresh(ctx, first)
    assert info.value.sent is False, "the broker may send this refresh token again"
    assert srv.count("oauth", "token") == 1, "only the login's exchange"
    assert await works(srv, "oauth", await flow.refresh(ctx, first))


@pytest.mark.asyncio
async def test_a_wrong_state_is_refused_and_the_login_keeps_waiting(
    srv: ProviderServer, http: HttpPolicy
) -> None:
    asker = RecordingAsker()
    ctx = make_ctx("oauth2", {"issuer": srv.issuer, "client_id": PUBLIC}, http, asker=asker)
    task = asyncio.create_task(load_flow("authorization_code").login(ctx))
    _, location = await approve_without_following(asker)
    parts = urlsplit(location)
    forged = parse_qs(parts.query)
    forged["state"] = ["forged-state"]
    async with httpx.AsyncClient() as browser:
        refused = await browser.get(parts._replace(query=urlencode(forged, doseq=True)).geturl())
        assert refused.status_code == 400 and "still waiting" in refused.text
        await asyncio.sleep(0.05)
        assert not task.done()
        accepted = await browser.get(location)
    assert accepted.status_code == 200
    assert await works(srv, "oauth", await asyncio.wait_for(task, 10))


@pytest.mark.asyncio
async def test_access_denied_cancels_the_login(srv: ProviderServer, http: HttpPolicy) -> None:
    ctx = make_ctx(
        "oauth2", {"issuer": srv.issuer, "client_id": "trayauth-denied"}, http, asker=RecordingAsker()
    )
    with pytest.raises(LoginCancelled, match="work: sign-in was refused in the browser") as info:
        await browser_login(ctx)
    assert "access_denied" in info.value.message
    assert srv.count("oauth", "token") == 0


@pytest.mark.asyncio
async def test_paste_path(srv: ProviderServer, http: HttpPolicy) -> None:
    asker = RecordingAsker()
    ctx = make_ctx("oauth2", {"issuer": srv.issuer, "client_id": PUBLIC}, http, asker=asker)
    task = asyncio.create_task(load_flow("authorization_code").login(ctx))
    question, location = await approve_without_following(asker)
    with pytest.raises(TrayauthError):
        question.submit_redirect("https://example.com/")
    with pytest.raises(TrayauthError):
        question.submit_redirect(location.replace("state=", "state=x"))
    await asyncio.sleep(0.05)
    assert not task.done()
    question.submit_redirect(location)  # what the user copies from the browser's address bar
    assert await works(srv, "oauth", await asyncio.wait_for(task, 10))
    assert question.finished


@pytest.mark.asyncio
async def test_background_renewal_never_starts_a_browser_sign_in(
    srv: ProviderServer, http: HttpPolicy
) -> None:
    ctx = make_ctx("oauth2", {"issuer": srv.issuer, "client_id": PUBLIC}, http)
    with pytest.raises(LoginRequired, match="needs the browser"):
        await load_flow("authorization_code").login(ctx)
    assert srv.count("oauth", "openid-configuration") == 0


@pytest.mark.asyncio
async def test_no_issuer_and_no_endpoints_is_a_usage_error(http: HttpPolicy) -> None:
    ctx = make_ctx("oauth2", {"client_id": PUBLIC}, http, asker=RecordingAsker())
    with pytest.raises(UsageError, match="needs an 'issuer' setting, or 'token_url' and 'authorize_url'"):
        await load_flow("authorization_code").login(ctx)


# ---- Attentive -------------------------------------------------------------------------------


def attentive_ctx(
    srv: ProviderServer, http: HttpPolicy, preset: str | Preset = "attentive-oauth"
) -> FlowContext:
    base = srv.base_url("attentive")
    settings = {"base_url": base, "authorize_url": f"{base}/ui/integrations/oauth-install", "client_id": APP}
    return make_ctx(preset, settings, http, {"client_secret": APP_SECRET}, asker=RecordingAsker())


@pytest.mark.asyncio
async def test_attentive_install_gives_a_token_that_never_expires(
    srv: ProviderServer, http: HttpPolicy
) -> None:
    ctx = attentive_ctx(srv, http)
    tokens, page = await browser_login(ctx)
    assert page.status_code == 200
    assert tokens.expires_at is None and tokens.refresh_token is None
    assert tokens.scopes == ("events:write", "subscriptions:write")
    assert await works(srv, "attentive", tokens)
    async with httpx.AsyncClient() as client:
        me = await client.get(
            f"{srv.base_url('attentive')}/v1/me", headers={"Authorization": f"Bearer {tokens.access_token}"}
        )
    assert me.status_code == 200
    sent = parse_qs(urlsplit(ctx.asker.questions[0].url).query)  # type: ignore[union-attr]
    # Issue 9 item 13: S256 is sent; Attentive documents no PKCE and rejects nothing (RFC 6749 §3.1:
    # unknown parameters are ignored), and the demo's Attentive ignores it the same way.
    assert sent["code_challenge_method"] == ["S256"] and sent["code_challenge"]


@pytest.mark.asyncio
async def test_attentive_code_expired_after_two_minutes(srv: ProviderServer, http: HttpPolicy) -> None:
    ctx = attentive_ctx(srv, http)
    assert isinstance(ctx.asker, RecordingAsker)
    task = asyncio.create_task(load_flow("authorization_code").login(ctx))
    _, location = await approve_without_following(ctx.asker)
    srv.clock_offset = 121  # the user's browser took two minutes to come back
    async with httpx.AsyncClient() as browser:
        await browser.get(location)
    with pytest.raises(LoginTimeout, match="authorization code expired before it could be exchanged") as info:
        await asyncio.wait_for(task, 10)
    assert "120 s" in info.value.message


@pytest.mark.asyncio
async def test_attentive_slow_exchange_is_abandoned_at_the_code_lifetime(
    srv: ProviderServer, http: HttpPolicy
) -> None:
    preset = load_preset("attentive-oauth")
    quick = dataclasses.replace(preset, options=dataclasses.replace(preset.oauth, code_lifetime=0.3))
    srv.inject("attentive", "v1/authorization-codes/tokens", "delay:1.5")
    started = time.monotonic()
    with pytest.raises(LoginTimeout, match="expired before it could be exchanged"):
        await browser_login(attentive_ctx(srv, http, quick))
    assert time.monotonic() - started < 1.4


# ---- password, client credentials ------------------------------------------------------------


@pytest.mark.asyncio
async def test_password_grant(srv: ProviderServer, http: HttpPolicy) -> None:
    flow = load_flow("oauth_password")
    settings = {"token_url": f"{srv.issuer}/token", "client_id": PUBLIC, "username": "demo"}
    tokens = await flow.login(make_ctx("oauth2-password", settings, http, {"password": "demo-password"}))
    assert await works(srv, "oauth", tokens)
    assert tokens.refresh_token
    renewed = await flow.refresh(
        make_ctx("oauth2-password", settings, http, {"password": "demo-password"}), tokens
    )
    assert await works(srv, "oauth", renewed) and renewed.refresh_token != tokens.refresh_token
    wrong = make_ctx("oauth2-password", settings, http, {"password": "wrong-password"})
    with pytest.raises(CredentialsRejected, match="the username or password was rejected") as info:
        await flow.login(wrong)
    assert "wrong-password" not in cli_line(info.value)
    with pytest.raises(LoginRequired, match="needs its password"):
        await flow.login(make_ctx("oauth2-password", settings, http, {}))


@pytest.mark.asyncio
async def test_password_grant_through_discovery_with_basic_auth(
    srv: ProviderServer, http: HttpPolicy
) -> None:
    settings = {"issuer": srv.issuer, "client_id": CONFIDENTIAL, "username": "demo", "scopes": "api"}
    secrets = {"password": "demo-password", "client_secret": SECRET}
    tokens = await load_flow("oauth_password").login(make_ctx("oauth2-password", settings, http, secrets))
    assert await works(srv, "oauth", tokens) and tokens.scopes == ("api",)


@pytest.mark.asyncio
async def test_client_credentials(srv: ProviderServer, http: HttpPolicy) -> None:
    flow = load_flow("client_credentials")
    settings = {"issuer": srv.issuer, "client_id": CONFIDENTIAL, "scopes": "api"}
    tokens = await flow.login(
        make_ctx("oauth2-client-credentials", settings, http, {"client_secret": SECRET})
    )
    assert await works(srv, "oauth", tokens)
    assert tokens.refresh_token is None and tokens.expires_at is not None
    again = await flow.refresh(
        make_ctx("oauth2-client-credentials", settings, http, {"client_secret": SECRET}), tokens
    )
    assert again.access_token != tokens.access_token, "renewal is the grant again with the kept secret"
    bad = make_ctx("oauth2-client-credentials", settings, http, {"client_secret": "nope-nope"})
    with pytest.raises(CredentialsRejected, match="client id or client secret"):
        await flow.login(bad)
    with pytest.raises(LoginRequired, match="client_secret"):
        await flow.login(make_ctx("oauth2-client-credentials", settings, http, {}))


# ---- device code -----------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def slow_srv(clock: FakeClock) -> Iterator[ProviderServer]:
    with ProviderServer(clock=clock) as server:
        yield server


@pytest_asyncio.fixture
async def fake_http(clock: FakeClock) -> AsyncIterator[HttpPolicy]:
    policy = HttpPolicy(sleep=clock.sleep, clock=clock)
    try:
        yield policy
    finally:
        await policy.aclose()


def device_ctx(srv: ProviderServer, http: HttpPolicy, clock: FakeClock) -> FlowContext:
    settings = {"issuer": srv.issuer, "client_id": PUBLIC}
    return make_ctx("oauth2-device", settings, http, asker=RecordingAsker(), clock=clock)


@pytest.mark.asyncio
async def test_device_code_approved_from_another_device(
    slow_srv: ProviderServer, fake_http: HttpPolicy, clock: FakeClock
) -> None:
    ctx = device_ctx(slow_srv, fake_http, clock)
    assert isinstance(ctx.asker, RecordingAsker)
    started = clock()
    task = asyncio.create_task(load_flow("device_code").login(ctx))
    question = await question_of(ctx.asker)
    assert isinstance(question, DeviceCode)
    assert question.verification_uri == f"{slow_srv.issuer}/device"
    assert question.verification_uri_complete and question.user_code in question.verification_uri_complete
    assert question.deadline == started + 600
    while len(clock.slept) < 3:  # a few authorization_pending answers first
        await asyncio.sleep(0.01)
    slow_srv.approve_device(question.user_code)
    tokens = await asyncio.wait_for(task, 10)
    assert slow_srv.check("oauth", tokens.access_token)
    assert tokens.refresh_token
    assert set(clock.slept) == {5.0}, "polled at the server's interval"
    assert question.finished


@pytest.mark.asyncio
async def test_device_code_honours_slow_down(
    slow_srv: ProviderServer, fake_http: HttpPolicy, clock: FakeClock
) -> None:
    slow_srv.inject("oauth", "token", {"status": 400, "body": {"error": "slow_down"}}, times=2)
    ctx = device_ctx(slow_srv, fake_http, clock)
    assert isinstance(ctx.asker, RecordingAsker)
    task = asyncio.create_task(load_flow("device_code").login(ctx))
    question = await question_of(ctx.asker)
    while len(clock.slept) < 4:
        await asyncio.sleep(0.01)
    slow_srv.approve_device(question.user_code)
    await asyncio.wait_for(task, 10)
    assert clock.slept[:4] == [5.0, 10.0, 15.0, 15.0], "each slow_down adds 5 s for good"
    assert slow_srv.revoked_families("oauth") == 0


@pytest.mark.asyncio
async def test_device_code_denied_expired_and_cancelled(
    slow_srv: ProviderServer, fake_http: HttpPolicy, clock: FakeClock
) -> None:
    flow = load_flow("device_code")
    ctx = device_ctx(slow_srv, fake_http, clock)
    assert isinstance(ctx.asker, RecordingAsker)
    task = asyncio.create_task(flow.login(ctx))
    slow_srv.deny_device((await question_of(ctx.asker)).user_code)
    with pytest.raises(LoginCancelled, match="refused on the provider's page"):
        await asyncio.wait_for(task, 10)

    slow_srv.settings.device_expires_in = 30
    with pytest.raises(LoginTimeout, match="expired before it was approved"):
        await asyncio.wait_for(flow.login(device_ctx(slow_srv, fake_http, clock)), 10)

    slow_srv.settings.device_expires_in = 600
    ctx = device_ctx(slow_srv, fake_http, clock)
    assert isinstance(ctx.asker, RecordingAsker)
    task = asyncio.create_task(flow.login(ctx))
    question = await question_of(ctx.asker)
    question.cancel()
    with pytest.raises(LoginCancelled, match="cancelled"):
        await asyncio.wait_for(task, 10)
    assert question.finished


@pytest.mark.asyncio
async def test_device_code_needs_someone_to_show_the_code(srv: ProviderServer, http: HttpPolicy) -> None:
    ctx = make_ctx("oauth2-device", {"issuer": srv.issuer, "client_id": PUBLIC}, http)
    with pytest.raises(LoginRequired, match="enter a code"):
        await load_flow("device_code").login(ctx)
    assert srv.count("oauth", "device_authorization") == 0


# ---- through the broker ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_broker_stores_the_rotated_refresh_token(srv: ProviderServer, broker: Any) -> None:
    broker.add(Account("work", "oauth2", {"issuer": srv.issuer, "client_id": CONFIDENTIAL}))
    asker = RecordingAsker()
    task = asyncio.create_task(broker.login("work", {"client_secret": SECRET}, asker=asker))
    await play_browser(asker)
    first = await asyncio.wait_for(task, 10)
    assert broker.view("work").renewable
    second = await broker.refresh("work")  # no asker: the refresh grant with the kept client secret
    assert second.refresh_token != first.refresh_token
    assert broker.store.vault.entry("work").tokens.refresh_token == second.refresh_token
    third = await broker.refresh("work")
    assert await works(srv, "oauth", third)
    assert srv.revoked_families("oauth") == 0


@pytest.mark.asyncio
async def test_broker_relogs_in_a_password_account_without_refresh_token(
    srv: ProviderServer, broker: Any
) -> None:
    settings = {"token_url": f"{srv.issuer}/token", "client_id": PUBLIC, "username": "demo"}
    broker.add(Account("work", "oauth2-password", settings))
    srv.inject("oauth", "token", "field:refresh_token=null")
    first = await broker.login("work", {"password": "demo-password"})
    assert first.refresh_token is None
    assert broker.view("work").renewable, "the kept password renews it"
    second = await broker.refresh("work")
    assert second.access_token != first.access_token and await works(srv, "oauth", second)
    assert second.refresh_token, "this time the server gave one, and it is kept"
