"""Issue 11 against the local provider server: revocation on logout, offline access, scopes,
RFC 9207, ID tokens, and --secret-stdin, through the broker and the real CLI."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.integration.test_cli_oauth import read_url
from tests.integration.test_oauth_flows import (
    CONFIDENTIAL,
    PUBLIC,
    SECRET,
    approve_without_following,
    browser_login,
    make_ctx,
    play_browser,
    question_of,
    works,
)
from tests.support.cli import add_account, login, ok, run_cli, spawn_cli
from trayauth.cli.wording import line as cli_line
from trayauth.demo import ProviderServer
from trayauth.domain.errors import ProviderError, UsageError
from trayauth.domain.model import Account
from trayauth.domain.prompts import DeviceCode, RecordingAsker
from trayauth.flows import load_flow
from trayauth.net.http import HttpPolicy
from trayauth.protocol.revocation import Revocation


def refresh_works(srv: ProviderServer, refresh_token: str, client_id: str = PUBLIC) -> bool:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    if client_id == CONFIDENTIAL:
        form["client_secret"] = SECRET
    return httpx.post(f"{srv.issuer}/token", data=form).status_code == 200


async def signed_in(broker: Any, asker: RecordingAsker, name: str, secrets: dict[str, str]) -> Any:
    task = asyncio.create_task(broker.login(name, secrets, asker=asker))
    await play_browser(asker)
    return await asyncio.wait_for(task, 10)


# ---- 1. revocation on logout -------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("client", [PUBLIC, CONFIDENTIAL])
async def test_logout_revokes_the_refresh_token_then_the_access_token(
    srv: ProviderServer, broker: Any, client: str
) -> None:
    broker.add(Account("work", "oauth2", {"issuer": srv.issuer, "client_id": client}))
    secrets = {"client_secret": SECRET} if client == CONFIDENTIAL else {}
    tokens = await signed_in(broker, RecordingAsker(), "work", secrets)
    assert tokens.refresh_token and await works(srv, "oauth", tokens)
    result = await broker.logout("work")
    assert result.outcome is Revocation.CONFIRMED, result
    assert srv.revocations() == ["refresh_token", "access_token"]
    assert not refresh_works(srv, tokens.refresh_token, client), "the session ended at the provider"
    assert not await works(srv, "oauth", tokens)
    assert broker.store.vault.entry("work").tokens is None


@pytest.mark.asyncio
async def test_a_refused_revocation_is_reported_and_local_tokens_go_anyway(
    srv: ProviderServer, broker: Any
) -> None:
    broker.add(Account("work", "oauth2", {"issuer": srv.issuer, "client_id": CONFIDENTIAL}))
    tokens = await signed_in(broker, RecordingAsker(), "work", {"client_secret": SECRET})
    srv.inject("oauth", "revoke", {"status": 401, "body": {"error": "invalid_client"}})
    result = await broker.logout("work")
    assert result.outcome is Revocation.REFUSED and "invalid_client" in result.detail
    assert "the session ends when its refresh token expires" in result.sentence
    assert broker.store.vault.entry("work").tokens is None
    assert tokens.refresh_token not in result.sentence


@pytest.mark.asyncio
async def test_logout_never_hangs_on_a_slow_provider(srv: ProviderServer, broker: Any) -> None:
    broker.add(Account("work", "oauth2", {"issuer": srv.issuer, "client_id": PUBLIC}))
    await signed_in(broker, RecordingAsker(), "work", {})
    srv.inject("oauth", "revoke", "delay:5")
    broker.renewal.logout_deadline = 0.3
    result = await broker.logout("work")
    assert result.outcome is Revocation.UNREACHABLE
    assert result.sentence.startswith("the provider could not be reached: the local tokens are deleted")
    assert broker.store.vault.entry("work").tokens is None


def test_cli_logout_says_what_the_provider_did(isolated: Path, fresh_provider: Any) -> None:
    srv = fresh_provider
    add_account("p", "oauth2-password", issuer=srv.issuer, client_id=PUBLIC, username="demo", scopes="api")
    ok(login("p", "demo-password"))
    out = ok(run_cli("logout", "p"))
    assert "logged out p: signed out at the provider" in out.err
    ok(login("p", "demo-password"))
    srv.stop()  # the provider is gone: logout still completes, and says so
    out = ok(run_cli("logout", "p"))
    assert "the provider could not be reached: the local tokens are deleted" in out.err
    assert json.loads(run_cli("list", "--json").out)[0]["state"] == "logged_out"


def test_amino_says_it_has_nothing_to_revoke(isolated: Path, provider: Any) -> None:
    user = provider.users["amino"]
    add_account("am", "amino", base_url=provider.base_url("amino"), username=user["username"])
    ok(login("am", user["password"]))
    out = ok(run_cli("logout", "am"))
    assert "nothing to revoke at the provider (Amino has no way to end a session" in out.err


# ---- 2. offline_access and a missing refresh token ---------------------------------------------


@pytest.mark.asyncio
async def test_offline_access_sends_prompt_consent_and_gets_a_refresh_token(
    srv: ProviderServer, http: HttpPolicy
) -> None:
    ctx = make_ctx("oauth2", {"issuer": srv.issuer, "client_id": PUBLIC}, http, asker=RecordingAsker())
    tokens, _ = await browser_login(ctx)
    sent = parse_qs(urlsplit(ctx.asker.questions[0].url).query)  # type: ignore[union-attr]
    assert sent["prompt"] == ["consent"] and sent["scope"] == ["openid offline_access"]
    assert tokens.refresh_token and "offline_access" in tokens.scopes


@pytest.mark.asyncio
async def test_without_consent_the_server_drops_offline_access_and_login_says_when_it_ends(
    srv: ProviderServer, broker: Any
) -> None:
    catalog = broker.presets
    preset = catalog.get("oauth2")
    catalog._cache["oauth2"] = dataclasses.replace(
        preset, options=dataclasses.replace(preset.oauth, offline_consent=False)
    )
    broker.add(Account("work", "oauth2", {"issuer": srv.issuer, "client_id": PUBLIC}))
    tokens = await signed_in(broker, RecordingAsker(), "work", {})
    assert tokens.refresh_token is None, "oidc-provider's rule: no prompt=consent, no offline_access"
    view = broker.view("work")
    assert view.sign_in_by == tokens.expires_at and not view.renewable


def test_cli_login_without_refresh_token_says_when_to_sign_in_again(
    isolated: Path, fresh_provider: Any
) -> None:
    srv = fresh_provider
    add_account("p", "oauth2-device", issuer=srv.issuer, client_id=PUBLIC, scopes="api")
    srv.inject("oauth", "token", "field:refresh_token=null")
    proc = spawn_cli("login", "p", "--no-browser")
    assert proc.stderr is not None
    line = proc.stderr.readline()
    code = line.split("enter the code ")[1].split()[0]
    srv.approve_device(code)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "the provider gave no refresh token, so this session cannot renew itself: sign in again by" in err
    row = json.loads(run_cli("list", "--json").out)[0]
    assert row["sign_in_by"] == row["expires_at"]
    assert "no refresh token: sign in again by" in run_cli("list").out


# ---- 3. scopes ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_default_scopes_the_server_lacks_are_dropped(srv: ProviderServer, http: HttpPolicy) -> None:
    srv.settings.scopes_supported = ["openid", "profile", "api"]  # like django-oauth-toolkit
    ctx = make_ctx("oauth2", {"issuer": srv.issuer, "client_id": PUBLIC}, http, asker=RecordingAsker())
    tokens, _ = await browser_login(ctx)
    assert tokens.scopes == ("openid",) and await works(srv, "oauth", tokens)


@pytest.mark.asyncio
async def test_typed_scopes_are_sent_as_typed_and_invalid_scope_names_the_setting(
    srv: ProviderServer, http: HttpPolicy
) -> None:
    srv.settings.scopes_supported = ["openid", "api"]
    settings = {"issuer": srv.issuer, "client_id": PUBLIC, "scopes": "openid offline_access"}
    ctx = make_ctx("oauth2", settings, http, asker=RecordingAsker())
    with pytest.raises(UsageError) as caught:
        await browser_login(ctx)
    assert "invalid_scope" in cli_line(caught.value) and "scopes setting" in cli_line(caught.value)
    device = make_ctx("oauth2-device", settings, http, asker=RecordingAsker())
    with pytest.raises(UsageError) as caught:
        await load_flow("device_code").login(device)
    assert "scopes setting" in cli_line(caught.value)
    password = {**settings, "username": "demo"}
    with pytest.raises(UsageError) as caught:
        await load_flow("oauth_password").login(
            make_ctx("oauth2-password", password, http, {"password": "demo-password"})
        )
    assert "scopes setting" in cli_line(caught.value)


# ---- 4. --secret-stdin ---------------------------------------------------------------------------


def test_a_piped_client_secret_fills_the_optional_field(isolated: Path, fresh_provider: Any) -> None:
    srv = fresh_provider
    add_account("c", "oauth2", issuer=srv.issuer, client_id=CONFIDENTIAL, scopes="openid offline_access")
    proc = spawn_cli("login", "c", "--no-browser", "--secret-stdin")
    assert proc.stdin is not None
    proc.stdin.write(SECRET + "\n")
    proc.stdin.close()
    proc.stdin = None
    httpx.get(read_url(proc), follow_redirects=True, timeout=10)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert run_cli("token", "c").code == 0


def test_unused_stdin_is_an_error_before_any_browser_opens(isolated: Path, fresh_provider: Any) -> None:
    srv = fresh_provider
    add_account("c", "oauth2", issuer=srv.issuer, client_id=CONFIDENTIAL)
    result = run_cli("login", "c", "--no-browser", "--secret-stdin", stdin="one\ntwo\n")
    assert result.code == 2 and "2 lines on stdin, but it takes at most 1 secrets" in result.err
    assert "client_secret (optional)" in result.err
    assert srv.count("oauth", "openid-configuration") == 0 and srv.count("oauth", "authorize") == 0
    add_account("p", "oauth2-password", issuer=srv.issuer, client_id=CONFIDENTIAL, username="demo")
    ok(run_cli("login", "p", "--secret-stdin", stdin=f"{SECRET}\ndemo-password\n"))  # field order
    add_account("q", "oauth2-password", issuer=srv.issuer, client_id=PUBLIC, username="demo")
    ok(run_cli("login", "q", "--secret-stdin", stdin="\ndemo-password\n"))  # empty: optional left out
    ok(run_cli("login", "q", "--secret-stdin", stdin="demo-password\n"))  # the required one alone


# ---- 5. RFC 9207 and ID tokens -----------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_redirect_without_the_promised_iss_is_refused(srv: ProviderServer, http: HttpPolicy) -> None:
    ctx = make_ctx("oauth2", {"issuer": srv.issuer, "client_id": PUBLIC}, http, asker=RecordingAsker())
    task = asyncio.create_task(load_flow("authorization_code").login(ctx))
    question, location = await approve_without_following(ctx.asker)  # type: ignore[arg-type]
    parts = urlsplit(location)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert params.pop("iss") == srv.issuer
    async with httpx.AsyncClient() as browser:
        await browser.get(f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(params)}")
    with pytest.raises(ProviderError, match="lacks the issuer"):
        await asyncio.wait_for(task, 10)
    assert srv.count("oauth", "token") == 0, "no code was exchanged"
    assert question.finished


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("override", "match"), [({"aud": "someone-else"}, "another client"), ({"nonce": "replayed"}, "nonce")]
)
async def test_an_id_token_that_fails_a_check_fails_the_login(
    srv: ProviderServer, http: HttpPolicy, override: dict[str, str], match: str
) -> None:
    srv.settings.id_token_overrides = override
    ctx = make_ctx("oauth2", {"issuer": srv.issuer, "client_id": PUBLIC}, http, asker=RecordingAsker())
    with pytest.raises(ProviderError, match=match):
        await browser_login(ctx)


@pytest.mark.asyncio
async def test_id_token_keys_are_fetched_once_and_again_after_rotation(
    srv: ProviderServer, http: HttpPolicy
) -> None:
    settings = {"issuer": srv.issuer, "client_id": PUBLIC}
    for _ in range(2):
        await browser_login(make_ctx("oauth2", settings, http, asker=RecordingAsker()))
    assert srv.count("oauth", "jwks") == 1, "cached"
    srv.rotate_id_key()
    tokens, _ = await browser_login(make_ctx("oauth2", settings, http, asker=RecordingAsker()))
    assert srv.count("oauth", "jwks") == 2 and tokens.id_token


@pytest.mark.asyncio
async def test_device_flow_checks_the_id_token_too(srv: ProviderServer, http: HttpPolicy) -> None:
    srv.settings.id_token_overrides = {"iss": "https://mix-up.example"}
    asker = RecordingAsker()
    ctx = make_ctx("oauth2-device", {"issuer": srv.issuer, "client_id": PUBLIC}, http, asker=asker)
    ctx.http.sleep = _no_sleep  # type: ignore[method-assign]
    task = asyncio.create_task(load_flow("device_code").login(ctx))
    question = await question_of(asker)
    assert isinstance(question, DeviceCode)
    srv.approve_device(question.user_code)
    with pytest.raises(ProviderError, match="issued by"):
        await asyncio.wait_for(task, 10)


async def _no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_an_hs256_id_token_is_checked_with_the_client_secret(
    srv: ProviderServer, http: HttpPolicy
) -> None:
    srv.settings.id_token_hs256 = True
    settings = {"issuer": srv.issuer, "client_id": CONFIDENTIAL}
    ctx = make_ctx("oauth2", settings, http, {"client_secret": SECRET}, asker=RecordingAsker())
    tokens, _ = await browser_login(ctx)
    assert tokens.id_token and tokens.id_token.count(".") == 2
    srv.settings.id_token_overrides = {"nonce": "replayed"}
    ctx = make_ctx("oauth2", settings, http, {"client_secret": SECRET}, asker=RecordingAsker())
    with pytest.raises(ProviderError, match="nonce"):
        await browser_login(ctx)
