"""The vendor presets (issue 11 item 6) against the provider server speaking each vendor's quirks.

Each test logs in through the preset as shipped, pointed at the demo server's dialect of that
provider (trayauth.demo.dialects), and checks the quirk the preset exists for: GitHub's device
flow and expiring tokens, Google's access_type=offline with the client secret, Entra ID's tenant
in the URL, GitLab's missing offline_access, Auth0's refresh-token-only revocation, Okta's
authorization server path, Keycloak's realm URL and RFC 9207 ``iss``.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.integration.test_oauth_flows import (
    CONFIDENTIAL,
    PUBLIC,
    SECRET,
    browser_login,
    make_ctx,
    question_of,
)
from trayauth.demo import ProviderServer
from trayauth.domain.errors import CredentialsRejected, LoginRequired
from trayauth.domain.model import TokenSet
from trayauth.domain.prompts import DeviceCode, RecordingAsker
from trayauth.flows import load_flow
from trayauth.flows.base import FlowContext
from trayauth.flows.logout import revoke_within
from trayauth.net.http import HttpPolicy
from trayauth.protocol.revocation import Revocation


async def works(srv: ProviderServer, tokens: TokenSet) -> bool:
    async with httpx.AsyncClient() as client:
        resp = await client.get(
            f"{srv.base_url('oauth')}/whoami", headers={"Authorization": f"Bearer {tokens.access_token}"}
        )
    return resp.status_code == 200


def sent_query(ctx: FlowContext) -> dict[str, list[str]]:
    return parse_qs(urlsplit(ctx.asker.questions[0].url).query)  # type: ignore[union-attr]


async def device_login(srv: ProviderServer, ctx: FlowContext) -> TokenSet:
    async def no_sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    ctx.http.sleep = no_sleep  # type: ignore[method-assign]
    task = asyncio.create_task(load_flow(ctx.preset.flow).login(ctx))
    question = await question_of(ctx.asker)  # type: ignore[arg-type]
    assert isinstance(question, DeviceCode)
    srv.approve_device(question.user_code)
    return await asyncio.wait_for(task, 10)


async def refresh_and_revoke(srv: ProviderServer, ctx: FlowContext, tokens: TokenSet) -> Any:
    renewed = await load_flow(ctx.preset.flow).refresh(ctx, tokens)
    assert await works(srv, renewed)
    return await revoke_within(load_flow(ctx.preset.flow), ctx, renewed)


@pytest.mark.asyncio
@pytest.mark.parametrize("expiring", [False, True])
async def test_github_device_flow(srv: ProviderServer, http: HttpPolicy, expiring: bool) -> None:
    srv.settings.github_expiring_tokens = expiring
    settings = {"base_url": srv.base_url("github"), "client_id": PUBLIC}
    ctx = make_ctx("github", settings, http, asker=RecordingAsker())
    tokens = await device_login(srv, ctx)
    assert await works(srv, tokens)
    if not expiring:
        assert tokens.refresh_token is None and tokens.expires_at is None, "OAuth app tokens never expire"
    else:
        assert tokens.refresh_token and tokens.expires_at is not None
        result = await refresh_and_revoke(srv, ctx, tokens)
        assert result.outcome is Revocation.NOT_OFFERED and "GitHub" in result.detail
    assert srv.count("github", "device_authorization") == 1


@pytest.mark.asyncio
async def test_github_errors_arrive_as_200_and_still_fail(srv: ProviderServer, http: HttpPolicy) -> None:
    settings = {"base_url": srv.base_url("github"), "client_id": "unknown-app"}
    ctx = make_ctx("github", settings, http, asker=RecordingAsker())
    with pytest.raises(CredentialsRejected, match="client id or client secret"):
        await load_flow("device_code").login(ctx)


@pytest.mark.asyncio
async def test_google_installed_app(srv: ProviderServer, http: HttpPolicy) -> None:
    settings = {"issuer": srv.issuer_of("google"), "client_id": CONFIDENTIAL}
    ctx = make_ctx("google", settings, http, {"client_secret": SECRET}, asker=RecordingAsker())
    tokens, _ = await browser_login(ctx)
    sent = sent_query(ctx)
    assert sent["access_type"] == ["offline"] and sent["prompt"] == ["consent"]
    assert sent["code_challenge_method"] == ["S256"] and "offline_access" not in sent["scope"][0]
    assert tokens.refresh_token and tokens.id_token and await works(srv, tokens)
    renewed = await load_flow("authorization_code").refresh(ctx, tokens)
    assert renewed.refresh_token == tokens.refresh_token, "Google does not rotate: the old one is kept"
    again, _ = await browser_login(
        make_ctx("google", settings, http, {"client_secret": SECRET}, asker=RecordingAsker())
    )
    assert again.refresh_token, "prompt=consent: a refresh token on every sign-in, not only the first"
    result = await revoke_within(load_flow("authorization_code"), ctx, renewed)
    assert result.outcome is Revocation.CONFIRMED


@pytest.mark.asyncio
async def test_google_wants_the_client_secret(srv: ProviderServer, http: HttpPolicy) -> None:
    """Google's token endpoint wants the secret even from an installed app using PKCE, so the
    preset asks for it before the browser opens; the dialect refuses a token request without."""
    settings = {"issuer": srv.issuer_of("google"), "client_id": PUBLIC}
    ctx = make_ctx("google", settings, http, asker=RecordingAsker())
    with pytest.raises(LoginRequired, match="client_secret"):
        await load_flow("authorization_code").login(ctx)
    assert srv.count("google", "authorize") == 0
    form = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": PUBLIC}
    answer = httpx.post(f"{srv.base_url('google')}/token", data=form)
    assert answer.status_code == 400 and "client_secret is missing" in answer.text


@pytest.mark.asyncio
async def test_microsoft_tenant_in_the_url(srv: ProviderServer, http: HttpPolicy) -> None:
    settings = {"base_url": srv.base_url("microsoft"), "tenant": "demo-tenant", "client_id": PUBLIC}
    ctx = make_ctx("microsoft", settings, http, asker=RecordingAsker())
    tokens, _ = await browser_login(ctx)
    assert "/demo-tenant/oauth2/v2.0/authorize" in ctx.asker.questions[0].url  # type: ignore[union-attr]
    assert "prompt" not in sent_query(ctx), "Entra ID grants offline_access without prompt=consent"
    assert tokens.refresh_token and await works(srv, tokens)
    result = await refresh_and_revoke(srv, ctx, tokens)
    assert result.outcome is Revocation.NOT_OFFERED and "Entra" in result.detail
    token_requests = srv.count("microsoft", "token")
    assert token_requests == 2, "the code exchange and the refresh went to the tenant's v2.0 token endpoint"


@pytest.mark.asyncio
async def test_microsoft_device_code(srv: ProviderServer, http: HttpPolicy) -> None:
    settings = {"base_url": srv.base_url("microsoft"), "tenant": "demo-tenant", "client_id": PUBLIC}
    ctx = make_ctx("microsoft-device", settings, http, asker=RecordingAsker())
    tokens = await device_login(srv, ctx)
    assert tokens.refresh_token and await works(srv, tokens)
    assert srv.count("microsoft", "device_authorization") == 1


@pytest.mark.asyncio
async def test_gitlab_has_no_offline_access_and_rotates(srv: ProviderServer, http: HttpPolicy) -> None:
    ctx = make_ctx(
        "gitlab", {"issuer": srv.issuer_of("gitlab"), "client_id": PUBLIC}, http, asker=RecordingAsker()
    )
    tokens, _ = await browser_login(ctx)
    assert sent_query(ctx)["scope"] == ["read_api read_user openid"]
    assert tokens.refresh_token and tokens.id_token
    renewed = await load_flow("authorization_code").refresh(ctx, tokens)
    assert renewed.refresh_token != tokens.refresh_token
    result = await revoke_within(load_flow("authorization_code"), ctx, renewed)
    assert result.outcome is Revocation.CONFIRMED and srv.revocations() == ["refresh_token", "access_token"]


@pytest.mark.asyncio
async def test_auth0_revokes_refresh_tokens_only(srv: ProviderServer, http: HttpPolicy) -> None:
    issuer = srv.issuer_of("auth0")
    assert issuer.endswith("/"), "Auth0's issuer ends in a slash"
    settings = {"issuer": issuer, "client_id": PUBLIC, "audience": "https://api.example"}
    ctx = make_ctx("auth0", settings, http, asker=RecordingAsker())
    tokens, _ = await browser_login(ctx)
    assert sent_query(ctx)["audience"] == ["https://api.example"] and "prompt" not in sent_query(ctx)
    assert tokens.refresh_token and tokens.id_token
    result = await refresh_and_revoke(srv, ctx, tokens)
    assert result.outcome is Revocation.CONFIRMED and srv.revocations() == ["refresh_token"]


@pytest.mark.asyncio
async def test_okta_custom_authorization_server(srv: ProviderServer, http: HttpPolicy) -> None:
    issuer = srv.issuer_of("okta")
    assert issuer.endswith("/okta/oauth2/default")
    ctx = make_ctx("okta", {"issuer": issuer, "client_id": PUBLIC}, http, asker=RecordingAsker())
    tokens, _ = await browser_login(ctx)
    assert "/oauth2/default/v1/authorize" in ctx.asker.questions[0].url  # type: ignore[union-attr]
    assert tokens.refresh_token and tokens.id_token
    result = await refresh_and_revoke(srv, ctx, tokens)
    assert result.outcome is Revocation.CONFIRMED


@pytest.mark.asyncio
async def test_keycloak_realm_url_and_rfc9207(srv: ProviderServer, http: HttpPolicy) -> None:
    settings = {"base_url": srv.base_url("keycloak"), "realm": "demo", "client_id": CONFIDENTIAL}
    ctx = make_ctx("keycloak", settings, http, {"client_secret": SECRET}, asker=RecordingAsker())
    tokens, page = await browser_login(ctx)
    assert page.status_code == 200 and "iss=" in str(page.history[0].headers["location"])
    assert tokens.refresh_token and tokens.id_token and await works(srv, tokens)
    result = await refresh_and_revoke(srv, ctx, tokens)
    assert result.outcome is Revocation.CONFIRMED
