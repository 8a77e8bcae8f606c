"""Device authorization grant (RFC 8628): "open this page and enter this code", then poll.

For machines whose browser is elsewhere (SSH, a headless box). Polling follows §3.4-3.5 exactly:
wait ``interval`` seconds (5 when the server names none) before each poll, keep waiting on
``authorization_pending``, add 5 seconds for good on ``slow_down``, stop at ``expires_in``.
Waiting goes through ``ctx.http.sleep`` (the HTTP policy's injectable sleep), so tests poll
without real seconds passing; the user can cancel the question at any time.

The login only: renewal and revocation are the same for every OAuth flow and live in
:mod:`trayauth.flows.oauth_session`, so a renewal by refresh token does not load this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trayauth.domain.errors import LoginCancelled, LoginRequired, LoginTimeout, NetworkError, ProviderError
from trayauth.domain.model import TokenSet
from trayauth.domain.prompts import DeviceCode
from trayauth.domain.steps import NextStep
from trayauth.flows import discovery, grants, idtoken
from trayauth.flows.base import FlowContext
from trayauth.net.http import check_url
from trayauth.protocol import oauth

DEFAULT_INTERVAL = 5.0
SLOW_DOWN_STEP = 5.0
MAX_INTERVAL = 60.0
MAX_NETWORK_FAILURES = 3


@dataclass(frozen=True)
class DeviceAuthorization:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_at: float
    interval: float


def parse_device_authorization(
    document: Mapping[str, Any], *, now: float, account: str
) -> DeviceAuthorization:
    """RFC 8628 §3.2; ``verification_url`` is the name some servers (Google) used before the RFC."""

    def text(*keys: str) -> str | None:
        for key in keys:
            value = document.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None

    device_code = text("device_code")
    user_code = text("user_code")
    uri = text("verification_uri", "verification_url")
    if not device_code or not user_code or not uri:
        raise ProviderError(
            "the device authorization answer lacks device_code, user_code or verification_uri",
            account=account,
        )
    check_url(uri, resolve=None)
    complete = text("verification_uri_complete")
    if complete is not None:
        check_url(complete, resolve=None)
    try:
        expires_in = float(document.get("expires_in") or 0)
        interval = float(document.get("interval") or DEFAULT_INTERVAL)
        if not (math.isfinite(expires_in) and math.isfinite(interval)):
            raise ValueError("not finite")  # "NaN" or "1e400": no wait can be planned on it
    except (TypeError, ValueError, OverflowError):
        raise ProviderError(
            "the device authorization answer has a malformed expires_in or interval", account=account
        ) from None
    if not expires_in > 0:
        raise ProviderError("the device authorization answer has no usable expires_in", account=account)
    return DeviceAuthorization(
        device_code, user_code, uri, complete, now + expires_in, min(max(interval, 1.0), MAX_INTERVAL)
    )


async def _pause(ctx: FlowContext, seconds: float, cancelled: asyncio.Event) -> None:
    """Sleep through the injectable sleep, but wake at once when the user cancels."""
    sleeper = asyncio.ensure_future(ctx.http.sleep(seconds))
    waiter = asyncio.ensure_future(cancelled.wait())
    try:
        await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, waiter):
            task.cancel()
        for task in (sleeper, waiter):
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if cancelled.is_set():
        raise LoginCancelled("sign-in cancelled", account=ctx.name)


async def _poll(
    ctx: FlowContext,
    url: str,
    auth: DeviceAuthorization,
    client: oauth.ClientAuth,
    scopes: tuple[str, ...],
    cancelled: asyncio.Event,
) -> TokenSet:
    interval = auth.interval
    failures = 0
    hidden = [auth.device_code, *(s for s in (client.secret,) if s)]
    form = {"grant_type": oauth.DEVICE_GRANT, "device_code": auth.device_code}
    while True:
        if ctx.clock() + interval >= auth.expires_at:
            raise LoginTimeout(
                f"the code {auth.user_code} expired before it was approved",
                account=ctx.name,
                next_step=NextStep.log_in_sooner(ctx.name),
            )
        await _pause(ctx, interval, cancelled)
        body, headers = client.apply(form)
        headers["Accept"] = "application/json"
        try:
            resp = await ctx.http.request(
                "POST", url, data=body, headers=headers, secrets=ctx.all_secrets() + hidden
            )
        except NetworkError:
            failures += 1
            if failures >= MAX_NETWORK_FAILURES:
                raise
            interval = min(interval * 2, MAX_INTERVAL)  # §3.5: back off when the connection times out
            continue
        failures = 0
        error = oauth.error_code(resp)
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval = min(interval + SLOW_DOWN_STEP, MAX_INTERVAL)
            continue
        if error == "access_denied":
            raise LoginCancelled("sign-in was refused on the provider's page", account=ctx.name)
        if error == "expired_token":
            raise LoginTimeout(
                f"the code {auth.user_code} expired before it was approved",
                account=ctx.name,
                next_step=NextStep.log_in_sooner(ctx.name),
            )
        return oauth.parse_token_response(
            resp,
            account=ctx.name,
            grant=oauth.DEVICE_GRANT,
            now=ctx.clock(),
            requested_scopes=scopes,
            secrets=ctx.all_secrets() + hidden,
        )


async def login(ctx: FlowContext) -> TokenSet:
    asker = ctx.asker
    if asker is None:
        raise LoginRequired(
            "signing in needs you to enter a code on the provider's page",
            account=ctx.name,
            next_step=NextStep.log_in(ctx.name),
        )
    ctx.require("client_id")
    endpoints = await discovery.endpoints(ctx, device=True, extras=True)
    assert endpoints.device is not None
    client = grants.client_for(ctx, endpoints.auth_methods)
    scopes = grants.scopes_for(ctx, endpoints.scopes_supported)
    body, headers = client.apply({"scope": " ".join(scopes)} if scopes else {})
    headers["Accept"] = "application/json"
    resp = await ctx.http.request(
        "POST", endpoints.device, data=body, headers=headers, secrets=ctx.all_secrets()
    )
    if not 200 <= resp.status < 300:
        raise oauth.token_error(resp, account=ctx.name, grant=oauth.DEVICE_GRANT, secrets=ctx.all_secrets())
    auth = parse_device_authorization(resp.json_object(), now=ctx.clock(), account=ctx.name)
    cancelled = asyncio.Event()
    question = DeviceCode(
        ctx.name,
        auth.verification_uri,
        auth.user_code,
        auth.expires_at,
        cancel=cancelled.set,
        verification_uri_complete=auth.verification_uri_complete,
    )
    try:
        asker.ask(question)
        if ctx.open_browser is not None:
            with contextlib.suppress(Exception):  # the page and code are shown anyway
                ctx.open_browser(auth.verification_uri_complete or auth.verification_uri)
        tokens = await _poll(ctx, endpoints.token, auth, client, scopes, cancelled)
    finally:
        question.finish()
    await idtoken.check(ctx, endpoints, tokens, nonce=None)
    return tokens
