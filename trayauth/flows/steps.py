"""A login as a short chain of declared HTTP requests.

Sentiance (credentials → code → token), Senseye (one form-encoded password grant), Sensos (JSON
application credentials) and Amino (JSON:API) differ only in URLs, body encoding and where the
answer keeps its fields, so one engine reads all of them from their preset files::

    [[options.login]]                       # one table per request, in order
    url = "{base_url}/auth/local"
    json = { username = "{username}", password = "{password}" }   # or form = {...}
    capture = { code = "/authorization_code" }                    # values later steps may use
    [options.refresh]                        # how a refresh token is spent (renew = "refresh")
    url = "{base_url}/auth/token"
    json = { grant_type = "refresh_token", refresh_token = "{refresh_token}" }
    [options.response]                       # JSON pointers into the final answer
    access_token = "/token"

Placeholders are ``{name}`` from the account's settings, its secrets, earlier captures and
``refresh_token``; nothing else is evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from trayauth.domain.errors import CredentialsRejected, LoginRequired, PresetError, ProviderError
from trayauth.domain.model import TokenSet
from trayauth.domain.options import StepRequest, StepsOptions
from trayauth.domain.steps import NextStep
from trayauth.flows import revocation
from trayauth.flows.base import FlowContext
from trayauth.net.http import HttpResponse, describe_error, reading, safe_url
from trayauth.protocol.oauth import error_code
from trayauth.protocol.responses import DEFAULT_RESPONSE, lookup, token_from_response
from trayauth.protocol.revocation import RevocationResult

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def _fill(value: Any, variables: Mapping[str, str], where: str) -> Any:
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in variables:
                raise PresetError(f"{where}: no value for placeholder {{{key}}}")
            return variables[key]

        return _PLACEHOLDER.sub(sub, value)
    if isinstance(value, Mapping):
        return {str(k): _fill(v, variables, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, variables, where) for v in value]
    return value


def _variables(ctx: FlowContext) -> dict[str, str]:
    variables: dict[str, str] = {}
    for fld in ctx.preset.fields:
        if fld.secret:
            continue
        value = ctx.setting(fld.key)
        if value is not None:
            variables[fld.key] = value
    for key, value in ctx.account.settings.items():
        variables.setdefault(key, value)
    if "base_url" in variables:
        variables["base_url"] = variables["base_url"].rstrip("/")
    variables.update({k: v for k, v in ctx.secrets.items() if v})
    return variables


def _options(ctx: FlowContext) -> StepsOptions:
    options = ctx.preset.options
    if not isinstance(options, StepsOptions):
        raise PresetError(f"preset {ctx.preset.id!r} is not a steps preset")
    return options


async def _send(
    ctx: FlowContext, step: StepRequest, variables: Mapping[str, str], secrets: list[str]
) -> HttpResponse:
    where = f"preset {ctx.preset.id!r}"
    url = str(_fill(step.url, variables, where))
    headers = {"Accept": "application/json"}
    extra_headers = _fill(step.headers, variables, where)
    headers.update({str(k): str(v) for k, v in extra_headers.items()})
    body_json = _fill(step.json, variables, where) if step.json is not None else None
    form = None
    if step.form is not None:
        form = {str(k): str(v) for k, v in _fill(step.form, variables, where).items()}
    return await ctx.http.request(
        step.method, url, json=body_json, data=form, headers=headers, secrets=secrets
    )


def _fail(ctx: FlowContext, resp: HttpResponse, secrets: list[str], *, refreshing: bool) -> Exception:
    detail = describe_error(resp, secrets)
    rejected = resp.status in (401, 403) or (
        resp.status == 400 and error_code(resp) in ("invalid_grant", "invalid_client")
    )
    if refreshing and (rejected or resp.status == 400):
        return LoginRequired(
            f"the provider refused to renew the session ({detail})",
            account=ctx.name,
            next_step=NextStep.log_in(ctx.name),
        )
    if rejected:
        what = "password" if ctx.preset.field("password") else "credentials"
        return CredentialsRejected(
            f"wrong {what} or username ({detail})",
            account=ctx.name,
            next_step=NextStep.log_in(ctx.name, check=("username", what)),
        )
    return ProviderError(f"{safe_url(resp.url)} failed ({detail})", account=ctx.name)


async def _run(
    ctx: FlowContext, steps: Sequence[StepRequest], variables: dict[str, str], *, refreshing: bool
) -> TokenSet:
    options = _options(ctx)
    secrets = ctx.all_secrets() + ([variables["refresh_token"]] if "refresh_token" in variables else [])
    document: dict[str, Any] = {}
    for index, step in enumerate(steps):
        resp = await _send(ctx, step, variables, secrets)
        if not resp.ok:
            raise _fail(ctx, resp, secrets, refreshing=refreshing)
        with reading(resp):
            document = resp.json_object()
            if index == len(steps) - 1:
                mapping = {**DEFAULT_RESPONSE, **options.response}
                return token_from_response(
                    document,
                    mapping,
                    now=ctx.clock(),
                    where="the provider",
                    account=ctx.name,
                    trust_token_claims=options.trust_token_claims,
                )
            for name, path in step.capture.items():
                value = lookup(document, path)
                if not isinstance(value, str | int) or value == "":
                    raise ProviderError(f"{safe_url(resp.url)} answered without {name}", account=ctx.name)
                variables[str(name)] = str(value)
                secrets.append(str(value))
    raise PresetError(f"preset {ctx.preset.id!r} declares no request")


async def login(ctx: FlowContext) -> TokenSet:
    steps = _options(ctx).login
    for fld in ctx.preset.secret_fields:
        if fld.required:
            ctx.require_secret(fld.key)
    return await _run(ctx, steps, _variables(ctx), refreshing=False)


async def refresh(ctx: FlowContext, tokens: TokenSet) -> TokenSet:
    step = _options(ctx).refresh
    if step is None:
        raise PresetError(f"preset {ctx.preset.id!r} renews by refresh but has no [options.refresh]")
    if not tokens.refresh_token:
        raise LoginRequired(
            "there is no refresh token", account=ctx.name, next_step=NextStep.log_in(ctx.name)
        )
    variables = _variables(ctx)
    variables["refresh_token"] = tokens.refresh_token
    new = await _run(ctx, [step], variables, refreshing=True)
    return new.with_refresh_fallback(tokens)


async def revoke(ctx: FlowContext, tokens: TokenSet | None) -> RevocationResult:
    return revocation.not_offered(ctx, tokens)
