"""Fuzzing every parser of untrusted input: nothing escapes but trayauth's own error types.

Each test drives one parser with hypothesis and three kinds of input: structured JSON-like values
(recursive, with huge integers, NaN and infinities), valid documents mutated (the right shape with
members of the wrong type or value, dropped or wrapped), and raw text or bytes, plus nesting and
numbers past what Python's parsers take (RecursionError, OverflowError, the int digit limit).
The parser must return a well-formed result or raise a ``TrayauthError`` whose message is one
line; any other exception fails the test with hypothesis's smallest example.

The valid documents are not written by hand: the real flows record them from the provider server
(``trayauth.demo``), and each flow is then replayed through the real HTTP policy over a
scripted transport with one answer mutated, so a vendor's parser meets the shapes its own server
speaks. Every test counts the examples it ran into ``figures.fuzz`` and checks that its inputs
reached every outcome the parser has (parsed and refused, found and missing …), so a strategy that
never gets past the parser's first check cannot pass unnoticed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import email.utils
import gc
import io
import json
import math
import os
import plistlib
import socket
import string
import tempfile
import threading
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jwt
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hardening.cases import FLOWS, OAUTH_FLOWS, Figures, FlowSpec, shipped_flows
from tests.support.clock import FakeClock, Sleeps
from tests.unit.test_store_config import EXAMPLE as CONFIG_EXAMPLE
from tests.unit.test_store_config import toml_docs
from trayauth import client
from trayauth.cli.wording import line as cli_line
from trayauth.demo import ProviderServer
from trayauth.domain.errors import RateLimited, TrayauthError
from trayauth.domain.model import Account, TokenSet
from trayauth.domain.options import OAuthOptions, StaticOptions, StepsOptions
from trayauth.domain.presets import (
    FIELD_KINDS,
    RENEW_MODES,
    TOKEN_FORMATS,
    Preset,
    PresetCatalog,
    builtin_dir,
    parse_preset,
)
from trayauth.domain.prompts import DeviceCode, Question
from trayauth.domain.tokens import expiry_from_fields, inspect_token, token_expiry
from trayauth.flows import FLOWS as FLOW_NAMES
from trayauth.flows import discovery, load_flow
from trayauth.flows.base import FlowContext
from trayauth.flows.device_code import DeviceAuthorization, parse_device_authorization
from trayauth.net.http import HttpPolicy, HttpResponse, check_url, parse_retry_after
from trayauth.net.loopback import _REASONS, LoopbackRedirect
from trayauth.protocol.oauth import parse_callback, parse_token_response
from trayauth.protocol.responses import _MISSING, pointer
from trayauth.services import agent
from trayauth.services.broker import Broker
from trayauth.storage.config import AppSettings, Config, dump_config, load_config, parse_config
from trayauth.storage.store import Store
from trayauth.storage.vault import Vault, VaultEntry

NOW = 1_700_000_000.0
STATE = "st4te-" + "x" * 37
PORT = 49152

# Examples per test: every parser gets a few hundred; a flow replayed through the HTTP policy
# costs a few milliseconds each, so those get fewer. The whole file runs in ~25 s on two cores.
CHEAP = 300
MEDIUM = 200
FLOW_EXAMPLES = 100


@pytest.fixture(autouse=True, scope="module")
def _qt_garbage_freed_here() -> None:
    """Free earlier tests' Qt garbage now, in the GUI thread, before this module starts threads
    (the provider server's, the broker's vault writers): left to the cyclic GC it may be freed in
    one of those, and Qt objects must die in their own thread (see tests/support/qt.py)."""
    gc.collect()


def fuzz_settings(examples: int) -> Callable[[Any], Any]:
    """Reproducible (derandomized, no example database) and free of wall-clock deadlines."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )


def one_line_problem(exc: TrayauthError) -> str | None:
    """None when the error is what a user should get: one non-empty line, no traceback."""
    text = cli_line(exc)
    if not text.strip():
        return "an empty message"
    if len(text.splitlines()) != 1:
        return f"more than one line: {text!r}"
    if "Traceback" in text:
        return f"a traceback: {text!r}"
    return None


def fuzz(
    figures: Figures,
    name: str,
    strategy: st.SearchStrategy[Any],
    check: Callable[[Any], str | None],
    *,
    examples: int,
    needs: tuple[str, ...] = ("parsed", "refused"),
) -> Counter[str]:
    """Run ``check`` over ``strategy``; only TrayauthError may escape it, as one line.

    ``check`` returns an outcome label (None: "parsed") after asserting the result is well formed.
    Every label in ``needs`` must have been reached, so inputs that all fail the same way (or all
    pass) show up as a failure rather than as a green test that proved nothing.
    """
    outcomes: Counter[str] = Counter()
    ran = 0

    @fuzz_settings(examples)
    @given(strategy)
    def run(value: Any) -> None:
        nonlocal ran
        ran += 1
        refusal: TrayauthError | None = None
        try:
            label = check(value)
        except TrayauthError as exc:
            refusal, label = exc, "refused"
        if refusal is not None:
            problem = one_line_problem(refusal)
            assert problem is None, f"{type(refusal).__name__} with {problem}"
        outcomes[label or "parsed"] += 1

    run()
    figures.fuzz[name] = ran
    missing = [label for label in needs if not outcomes[label]]
    assert not missing, f"{name}: no example reached {missing} (outcomes: {dict(outcomes)})"
    return outcomes


# ---- strategies -------------------------------------------------------------------------------

# Keys the parsers look for, so random objects hit them often.
KEYS = st.sampled_from(
    [
        "access_token", "refresh_token", "expires_in", "expires_at", "expires_at_timestamp", "token",
        "token_type", "scope", "error", "error_description", "data", "attributes", "accessToken",
        "expiresIn", "authorization_code", "exp", "iat", "nbf", "sub", "scp", "issuer",
        "token_endpoint", "device_code", "user_code", "verification_uri", "interval", "ok", "op",
        "name", "v", "pid", "errors", "detail", "message", "accounts", "tokens", "secrets",
    ]
)  # fmt: skip

# Values that sit on the edge of what the parsers accept.
ODD = st.sampled_from(
    [
        "", " ", "0", "-1", "1e400", "-1e400", "NaN", "nan", "Infinity", "inf", "true", "null", "²",
        "١٢٣", "0x10", "1_000", "3600", " 3600 ", "1700000000000", "99999999999999999999",
        "2019-04-02T13:22:22.508Z", "2019-13-45T99:00:00Z", "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+01:00", "2030-01-01", "20300101T000000Z", "Bearer", "bearer", "/", "~",
        "~2", "/data/0", "\x00", "\n", "a\nb", "\u2028", "\ud800", "%", "%zz", "http://", "https://x",
        "javascript:alert(1)", "http://evil.example/token", "ftp://x/",
    ]
)  # fmt: skip

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.integers(min_value=10**300, max_value=10**400),  # float() overflows on these
    st.integers(min_value=-(10**400), max_value=-(10**300)),
    st.floats(),  # NaN and the infinities too: JSON as Python reads it accepts them
    st.text(max_size=24),
    ODD,
)

JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=12,
)


def _nested(depth: int, opener: str, closed: bool) -> str:
    closer = {"[": "]", '{"a":': "}", '{"data":[': "]}"}[opener]
    return opener * depth + "1" + (closer * depth if closed else "")


# Text no JSON parser in Python survives without help: nesting past the recursion limit, and
# integers past the 4300-digit conversion limit.
EXTREME_JSON = st.one_of(
    st.builds(_nested, st.integers(200, 3000), st.sampled_from(["[", '{"a":', '{"data":[']), st.booleans()),
    st.builds(
        lambda key, digits: json.dumps({key: 0}).replace("0", "9" * digits),
        KEYS,
        st.integers(4200, 5000),
    ),
)

TEXT = st.text(max_size=80)
BYTES = st.binary(max_size=80)

ACTIONS = ("replace", "replace", "replace", "drop", "wrap", "stringify")


def _places(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _places(value, (*at, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _places(value, (*at, index))


def _holds(node: Any, key: Any) -> bool:
    if isinstance(node, dict):
        return key in node
    return isinstance(node, list) and isinstance(key, int) and key < len(node)


def _edit(doc: Any, edits: list[tuple[tuple[Any, ...], str, Any]]) -> Any:
    doc = copy.deepcopy(doc)
    for at, action, value in edits:
        if not at:
            if action == "replace":
                doc = value
            continue
        parent = doc
        for step in at[:-1]:
            parent = parent[step] if _holds(parent, step) else None
        last = at[-1]
        if not _holds(parent, last):
            continue  # an earlier edit removed this place
        if action == "replace":
            parent[last] = value
        elif action == "drop":
            del parent[last]
        elif action == "wrap":
            parent[last] = [parent[last]]
        elif action == "stringify":
            parent[last] = str(parent[last])
    return doc


def mutated(
    doc: Any,
    values: st.SearchStrategy[Any] = JSON,
    *,
    under: tuple[Any, ...] = (),
    root: bool = True,
    max_edits: int = 3,
) -> st.SearchStrategy[Any]:
    """``doc`` with one to ``max_edits`` of its members (below ``under``) replaced, dropped or wrapped."""
    places = [p for p in _places(doc) if p[: len(under)] == under and (root or p)]
    edit = st.tuples(st.sampled_from(places), st.sampled_from(ACTIONS), values)
    return st.lists(edit, min_size=1, max_size=max_edits).map(lambda edits: _edit(doc, edits))


def json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def bodies(doc: Any) -> st.SearchStrategy[bytes]:
    """An answer's body: mostly the valid document mutated, else anything at all."""
    mutations = mutated(doc, max_edits=2).map(json_bytes)
    return st.one_of(
        mutations,
        mutations,
        mutations,
        mutations,
        JSON.map(json_bytes),
        EXTREME_JSON.map(str.encode),
        TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
        BYTES,
    )


STATUSES = (200, 201, 204, 301, 400, 401, 403, 404, 405, 409, 418, 429, 500, 502, 503)


def _retry_after_dates() -> st.SearchStrategy[str]:
    moments = st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
    return moments.map(lambda d: email.utils.format_datetime(d, usegmt=True))


RETRY_AFTER = st.one_of(
    st.integers(0, 10**6).map(str),
    st.sampled_from(["²", "١٢", "9" * 400, "-1", "1.5", " 7 ", "", "0x10", "Mon, 32 Jan 2020 00:00:00 GMT"]),
    st.sampled_from(["1 Jan 99999999999 00:00:00", "Fri, 31 Dec 9999 23:59:59 +2359", "0 0 0 0:0:0"]),
    _retry_after_dates(),
    _retry_after_dates().map(lambda d: d.replace("GMT", "+9999")),
    st.text(alphabet=string.digits + " :,+-GMTMonJanDec", max_size=40),
    TEXT,
)


def answers(resp: HttpResponse) -> st.SearchStrategy[tuple[int, dict[str, str], bytes]]:
    """A recorded answer's variants: half of them near the original (its status, one member
    changed), half anything (any status, any body, sometimes a Retry-After)."""
    try:
        doc = json.loads(resp.content)
    except ValueError:
        doc = {}
    near = st.tuples(
        st.just(resp.status),
        st.just({"content-type": "application/json"}),
        mutated(doc, max_edits=1).map(json_bytes),
    )
    status = st.one_of(st.just(resp.status), st.sampled_from(STATUSES))
    headers = st.fixed_dictionaries(
        {"content-type": st.sampled_from(["application/json", "text/html", "application/json; charset=x"])},
        optional={"retry-after": RETRY_AFTER.filter(lambda v: v.isprintable())},
    )
    return st.one_of(near, st.tuples(status, headers, bodies(doc)))


# ---- well-formed results ----------------------------------------------------------------------


def finite(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def check_tokens(tokens: Any) -> None:
    """What a flow may hand the broker: storable, and nothing the broker has to guess about."""
    assert isinstance(tokens, TokenSet)
    assert isinstance(tokens.access_token, str) and tokens.access_token.strip()
    assert tokens.refresh_token is None or (isinstance(tokens.refresh_token, str) and tokens.refresh_token)
    assert tokens.expires_at is None or finite(tokens.expires_at), tokens.expires_at
    assert finite(tokens.obtained_at)
    assert isinstance(tokens.token_type, str) and tokens.token_type
    assert isinstance(tokens.scopes, tuple) and all(isinstance(s, str) for s in tokens.scopes)
    assert all(
        isinstance(k, str) and isinstance(v, str | int | float | bool) for k, v in tokens.extra.items()
    )
    stored = json.loads(json.dumps(tokens.to_dict()))
    assert TokenSet.from_dict(stored).access_token == tokens.access_token  # the vault can keep it


def check_inspection(token: str) -> str:
    expires = token_expiry(token)
    assert expires is None or finite(expires)
    info = inspect_token(TokenSet(token or "x", obtained_at=NOW))
    assert info.kind in ("jwt", "paseto-v4-public", "paseto-v4-local", "opaque")
    assert isinstance(info.header, dict) and isinstance(info.claims, dict)
    assert info.issued_at is None or finite(info.issued_at)
    assert info.not_before is None or finite(info.not_before)
    assert all(isinstance(s, str) for s in info.scopes)
    assert info.subject is None or isinstance(info.subject, str)
    return info.kind if expires is None else f"{info.kind} with exp"


# ---- recording the real answers, replaying them mutated ---------------------------------------


class Recorder(HttpPolicy):
    """The real HTTP policy, keeping every answer it got."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(sleep=Sleeps(clock), clock=clock)
        self.answers: list[HttpResponse] = []

    async def request(self, method: str, url: str, **kwargs: Any) -> HttpResponse:
        resp = await super().request(method, url, **kwargs)
        self.answers.append(resp)
        return resp


class Approver:
    """Plays the user of a device-code sign-in: approves the code on the server at once."""

    def __init__(self, srv: ProviderServer) -> None:
        self.srv = srv

    def ask(self, question: Question) -> None:
        if isinstance(question, DeviceCode):
            self.srv.approve_device(question.user_code)


DEVICE = FlowSpec(
    "oauth2-device", "oauth2-device", "oauth", "token", "device_authorization", "expires_in", "in", True,
    lambda srv: {"issuer": srv.issuer, "client_id": srv.users["oauth"]["public_client_id"]},
    lambda srv: {},
)  # fmt: skip


@dataclass(frozen=True)
class Recording:
    spec: FlowSpec
    op: str  # "login" or "refresh"
    answers: tuple[HttpResponse, ...]
    tokens: TokenSet | None  # what a refresh starts from
    at: float  # the clock when it was recorded


@dataclass
class Recordings:
    flows: dict[str, Recording]
    settings: dict[str, dict[str, str]]
    secrets: dict[str, dict[str, str]]
    token_error: HttpResponse  # an RFC 6749 §5.2 answer (wrong password)
    metadata: HttpResponse  # the OpenID Connect discovery document
    device: HttpResponse  # an RFC 8628 device authorization answer


def context(
    spec: FlowSpec,
    settings_: Mapping[str, str],
    secrets: Mapping[str, str],
    http: HttpPolicy,
    clock: Callable[[], float],
    asker: Any = None,
    preset: Preset | None = None,
) -> FlowContext:
    loaded = preset or PresetCatalog().get(spec.preset)
    return FlowContext(
        account=Account("fuzz", loaded.id, dict(settings_)),
        preset=loaded,
        secrets=dict(secrets),
        http=http,
        clock=clock,
        asker=asker,
    )


async def _record(srv: ProviderServer, clock: FakeClock) -> Recordings:
    flows: dict[str, Recording] = {}
    all_settings: dict[str, dict[str, str]] = {}
    all_secrets: dict[str, dict[str, str]] = {}
    http = Recorder(clock)
    try:
        for spec in [*shipped_flows(), DEVICE]:
            all_settings[spec.key], all_secrets[spec.key] = spec.settings(srv), spec.secrets(srv)
            flow = load_flow(PresetCatalog().get(spec.preset).flow)
            ctx = context(spec, all_settings[spec.key], all_secrets[spec.key], http, clock, Approver(srv))
            discovery.forget()
            http.answers.clear()
            at = clock()
            tokens = await flow.login(ctx)
            flows[f"{spec.key} login"] = Recording(spec, "login", tuple(http.answers), None, at)
            if ctx.preset.renew == "refresh" and tokens.refresh_token:
                discovery.forget()
                http.answers.clear()
                at = clock()
                await flow.refresh(ctx, tokens)
                flows[f"{spec.key} refresh"] = Recording(spec, "refresh", tuple(http.answers), tokens, at)
        device_answers = flows["oauth2-device login"].answers
        metadata = next(a for a in device_answers if a.url.endswith("/openid-configuration"))
        device = next(a for a in device_answers if a.url.endswith("/device_authorization"))
        spec = next(s for s in OAUTH_FLOWS if s.key == "oauth2-password")
        ctx = context(spec, spec.settings(srv), {"password": "not-the-password"}, http, clock)
        http.answers.clear()
        with contextlib.suppress(TrayauthError):
            await load_flow("oauth_password").login(ctx)
        token_error = http.answers[-1]
        assert token_error.status == 400 and b"invalid_grant" in token_error.content
    finally:
        await http.aclose()
    return Recordings(flows, all_settings, all_secrets, token_error, metadata, device)


@pytest.fixture(scope="module")
def recorded() -> Recordings:
    """Every shipped flow's answers, recorded once; the server is gone before any fuzzing."""
    clock = FakeClock()
    with ProviderServer(clock) as srv, asyncio.Runner() as runner:
        return runner.run(_record(srv, clock))


class Replay:
    """The real HTTP policy over a transport that answers from a script instead of a socket."""

    def __init__(self) -> None:
        self.script: list[httpx.Response] = []
        self.clock = FakeClock(NOW)
        self.client = httpx.AsyncClient(transport=httpx.MockTransport(self._answer))
        self.http = HttpPolicy(self.client, sleep=Sleeps(self.clock), clock=self.clock)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        if self.script:
            return self.script.pop(0)
        return httpx.Response(404, json={"error": "not_found"})

    def load(self, answers: list[tuple[int, Mapping[str, str], bytes]], at: float) -> None:
        self.clock.now = at
        self.script = [
            httpx.Response(
                s, headers={k: v.encode("utf-8", "surrogatepass") for k, v in h.items()}, content=b
            )
            for s, h, b in answers
        ]


def as_answer(resp: HttpResponse) -> tuple[int, dict[str, str], bytes]:
    return resp.status, {"content-type": resp.headers.get("content-type", "application/json")}, resp.content


@pytest.fixture
def replay() -> Iterator[tuple[Replay, asyncio.Runner]]:
    with asyncio.Runner() as runner:
        rep = Replay()
        try:
            yield rep, runner
        finally:
            runner.run(rep.client.aclose())
            discovery.forget()


async def run_flow(
    rec: Recording, rep: Replay, recorded: Recordings, preset: Preset | None = None
) -> TokenSet:
    spec = rec.spec
    ctx = context(
        spec,
        recorded.settings[spec.key],
        recorded.secrets[spec.key],
        rep.http,
        rep.clock,
        asker=_Silent(),
        preset=preset,
    )
    flow = load_flow(ctx.preset.flow)
    discovery.forget()
    if rec.op == "refresh":
        assert rec.tokens is not None
        return await flow.refresh(ctx, rec.tokens)
    return await flow.login(ctx)


class _Silent:
    """A user who sees every question and answers none (a device code then waits for the server)."""

    def ask(self, question: Question) -> None:
        pass


# ---- the vendors' flows, replayed with one answer mutated ---------------------------------------

REPLAYED = [f"{spec.key} login" for spec in FLOWS + OAUTH_FLOWS] + [
    "sentiance refresh",
    "amino refresh",
    "oauth2-password refresh",
    "oauth2-device login",
    "oauth2-device refresh",
]


@pytest.mark.parametrize("key", REPLAYED)
def test_vendor_answers(
    key: str, recorded: Recordings, replay: tuple[Replay, asyncio.Runner], figures: Figures
) -> None:
    """Every answer of every shipped flow, mutated: a TokenSet or the project's own error."""
    rec = recorded.flows.get(key)
    if rec is None:
        pytest.skip(f"{key}: that flow is not shipped in this tree")
    rep, runner = replay
    recorded_answers = [as_answer(a) for a in rec.answers]
    variants = st.one_of([st.tuples(st.just(i), answers(resp)) for i, resp in enumerate(rec.answers)])

    def check(variant: tuple[int, tuple[int, dict[str, str], bytes]]) -> None:
        index, answer = variant
        rep.load([answer if i == index else a for i, a in enumerate(recorded_answers)], rec.at)
        check_tokens(runner.run(run_flow(rec, rep, recorded)))

    # The unmutated script must still work, or every "refused" below would prove nothing.
    rep.load(recorded_answers, rec.at)
    check_tokens(runner.run(run_flow(rec, rep, recorded)))
    fuzz(figures, f"answers: {key}", variants, check, examples=FLOW_EXAMPLES)


STEPS_PRESETS = ("sentiance", "amino", "senseye", "sensos")


@pytest.mark.parametrize("preset_id", STEPS_PRESETS)
def test_steps_preset_options(
    preset_id: str, recorded: Recordings, replay: tuple[Replay, asyncio.Runner], figures: Figures
) -> None:
    """A user's copy of a steps preset with its options mistyped: the JSON pointer captures, the
    response pointers, headers, bodies. The preset loads and the login runs; only PresetError
    (or another own error) may come of it."""
    rec = recorded.flows.get(f"{preset_id} login")
    if rec is None:
        pytest.skip(f"{preset_id} is not shipped in this tree")
    rep, runner = replay
    data = tomllib.loads((builtin_dir() / f"{preset_id}.toml").read_text(encoding="utf-8"))
    recorded_answers = [as_answer(a) for a in rec.answers]
    pointers = st.one_of(
        st.lists(
            st.sampled_from(["data", "0", "1", "attributes", "token", "~0", "~1", "", "-"]), max_size=4
        ).map(lambda parts: "/" + "/".join(parts)),
        TOML_VALUES,
    )

    def check(options_data: dict[str, Any]) -> None:
        preset = parse_preset(options_data, source="fuzz")
        rep.load(recorded_answers, rec.at)
        check_tokens(runner.run(run_flow(rec, rep, recorded, preset=preset)))

    fuzz(
        figures,
        f"steps preset options: {preset_id}",
        mutated(data, TOML_VALUES | pointers, under=("options",)),
        check,
        examples=FLOW_EXAMPLES,
    )


# ---- OAuth 2.0 protocol documents ---------------------------------------------------------------


def test_token_answers_rfc6749(recorded: Recordings, figures: Figures) -> None:
    """RFC 6749 §5.1 success and §5.2 error answers, at any status."""
    success = recorded.flows["oauth2-password login"].answers[-1]
    variants = st.one_of(answers(success), answers(recorded.token_error))

    def check(answer: tuple[int, dict[str, str], bytes]) -> str:
        status, headers, content = answer
        resp = HttpResponse(status, headers, content, f"{success.url}?code=abc")
        check_tokens(
            parse_token_response(
                resp, account="fuzz", grant="refresh_token", now=NOW, requested_scopes=("a",), secrets=["abc"]
            )
        )
        return "parsed"

    fuzz(figures, "OAuth token / error answer (RFC 6749)", variants, check, examples=CHEAP)


def check_device(auth: DeviceAuthorization) -> None:
    assert isinstance(auth, DeviceAuthorization)
    assert auth.device_code and auth.user_code
    check_url(auth.verification_uri)
    if auth.verification_uri_complete is not None:
        check_url(auth.verification_uri_complete)
    assert finite(auth.expires_at) and auth.expires_at > NOW
    assert finite(auth.interval) and 1.0 <= auth.interval <= 60.0


def test_device_authorization_answers(recorded: Recordings, figures: Figures) -> None:
    """RFC 8628 §3.2: the code, the page, how long and how often."""
    doc = recorded.device.json_object()
    variants = st.one_of(
        mutated(doc),
        mutated(doc, ODD | SCALARS),
        *(mutated(doc, EXPIRY_VALUES, under=(key,)) for key in ("expires_in", "interval")),
        st.dictionaries(KEYS, JSON, max_size=6),
    )

    def check(document: Any) -> None:
        if not isinstance(document, dict):
            document = {"value": document}
        check_device(parse_device_authorization(document, now=NOW, account="fuzz"))

    fuzz(figures, "device authorization answer (RFC 8628)", variants, check, examples=CHEAP)


def test_discovery_documents(
    recorded: Recordings, replay: tuple[Replay, asyncio.Runner], figures: Figures
) -> None:
    """An issuer's OpenID Connect / RFC 8414 metadata, through the HTTP policy, to endpoints."""
    rep, runner = replay
    issuer = recorded.settings["oauth2-device"]["issuer"]
    spec = DEVICE

    async def endpoints() -> discovery.Endpoints:
        discovery.forget()
        ctx = context(spec, {"issuer": issuer, "client_id": "c"}, {}, rep.http, rep.clock)
        return await discovery.endpoints(ctx, authorize=True, device=True)

    def check(answer: tuple[int, dict[str, str], bytes]) -> None:
        rep.load([answer], NOW)
        found = runner.run(endpoints())
        for url in (found.token, found.authorize, found.device):
            assert isinstance(url, str)
            check_url(url)
        assert all(isinstance(m, str) for m in found.auth_methods)

    fuzz(figures, "OIDC discovery document", answers(recorded.metadata), check, examples=MEDIUM)


# ---- the pieces every answer goes through --------------------------------------------------------

POINTERS = st.one_of(
    st.lists(
        st.sampled_from(["data", "0", "1", "00", "-", "attributes", "access_token", "~0", "~1", "~01", ""])
        | st.text(max_size=4),
        max_size=5,
    ).map(lambda parts: "/" + "/".join(parts)),
    st.text(max_size=12),
)


def _pointer_to(at: tuple[Any, ...]) -> str:
    return "".join("/" + str(step).replace("~", "~0").replace("/", "~1") for step in at)


def _member(document: Any, at: tuple[Any, ...]) -> Any:
    for step in at:
        document = document[step]
    return document


def _reachable(document: Any, value: Any) -> bool:
    if value is document:
        return True
    if isinstance(document, dict):
        return any(_reachable(v, value) for v in document.values())
    if isinstance(document, list):
        return any(_reachable(v, value) for v in document)
    return False


def test_json_pointers(recorded: Recordings, figures: Figures) -> None:
    """RFC 6901 as the presets use it: a member of the answer, "missing", or a PresetError-ish refusal."""
    docs = [
        json.loads(a.content) for r in recorded.flows.values() for a in r.answers if a.content[:1] == b"{"
    ]
    documents = st.one_of(st.sampled_from(docs).flatmap(mutated), st.sampled_from(docs), JSON)
    # A pointer to a member that is there, escaped as RFC 6901 says, must find exactly that member.
    exact = st.sampled_from(docs).flatmap(
        lambda d: st.sampled_from(list(_places(d))).map(lambda at: (d, _pointer_to(at), _member(d, at)))
    )

    def check(case: tuple[Any, str, Any]) -> str:
        document, path, expected = case
        found = pointer(document, path)
        if found is _MISSING:
            assert expected is _MISSING, f"{path!r} missed a member that is there"
            return "missing"
        assert expected is _MISSING or found is expected, f"{path!r} found another member"
        assert _reachable(document, found), "the pointer made up a value"
        return "found"

    fuzz(
        figures,
        "JSON pointer (RFC 6901)",
        st.one_of(exact, st.tuples(documents, POINTERS, st.just(_MISSING))),
        check,
        examples=CHEAP,
        needs=("found", "missing", "refused"),
    )


ISO_DATES = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.none() | st.timezones()
).map(datetime.isoformat)
EXPIRY_VALUES = st.one_of(ODD, SCALARS, ISO_DATES, ISO_DATES.map(lambda d: d + "Z"), JSON)


def test_expiry_fields(figures: Figures) -> None:
    """expires_in / expires_at / expires_at_timestamp in whatever form a provider sends them."""
    fields = st.fixed_dictionaries(
        {},
        optional={
            "expires_in": EXPIRY_VALUES,
            "expires_at": EXPIRY_VALUES,
            "expires_at_timestamp": EXPIRY_VALUES,
        },
    )

    def check(values: dict[str, Any]) -> str:
        moment = expiry_from_fields(NOW, **values)
        assert moment is None or finite(moment), moment
        return "none" if moment is None else "parsed"

    fuzz(figures, "expiry fields", fields, check, examples=CHEAP, needs=("parsed", "none", "refused"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(header: Any, claims: Any, signature: str) -> str:
    return f"{_b64(json_bytes(header))}.{_b64(json_bytes(claims))}.{signature}"


def _signed(claims: Any) -> str:
    try:
        return jwt.encode(claims, "k" * 32, algorithm="HS256")
    except (TypeError, ValueError, OverflowError):
        return _jwt({"alg": "HS256"}, claims, "sig")


CLAIMS = {"sub": "user", "exp": int(NOW) + 600, "iat": int(NOW), "nbf": int(NOW), "scope": "a b"}
B64_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "-_=+/", max_size=40)

JWTS = st.one_of(
    mutated(CLAIMS, EXPIRY_VALUES).map(_signed),
    st.builds(
        _jwt, mutated({"alg": "HS256", "typ": "JWT", "kid": "k"}), mutated(CLAIMS, EXPIRY_VALUES), B64_TEXT
    ),
    st.builds(_jwt, JSON, JSON, B64_TEXT),
    st.builds(
        lambda head, body: f"{_b64(json_bytes({'alg': 'none'}))}.{_b64(body.encode())}.{head}",
        B64_TEXT,
        EXTREME_JSON,
    ),
    st.builds(lambda a, b, c: f"{a}.{b}.{c}", B64_TEXT, B64_TEXT, B64_TEXT),
)


def _paseto(kind: str, payload: bytes, signature: int, footer: bytes | None) -> str:
    token = f"v4.{kind}.{_b64(payload + bytes(signature))}"
    return token if footer is None else f"{token}.{_b64(footer)}"


PASETO_CLAIMS = {"sub": "machine", "exp": "2030-01-01T00:00:00+00:00", "iat": "2023-11-14T22:13:20+00:00"}
PASETOS = st.one_of(
    st.builds(
        _paseto,
        st.just("public"),
        mutated(PASETO_CLAIMS, EXPIRY_VALUES, max_edits=1).map(json_bytes),
        st.just(64),
        st.none() | st.just(b'{"kid": "k1"}') | st.just(b"plain footer"),
    ),
    st.builds(
        _paseto,
        st.sampled_from(["public", "public", "local"]),
        st.one_of(
            mutated(PASETO_CLAIMS, EXPIRY_VALUES).map(json_bytes),
            JSON.map(json_bytes),
            EXTREME_JSON.map(str.encode),
            BYTES,
        ),
        st.sampled_from([64, 64, 0, 63]),
        st.none() | JSON.map(json_bytes) | EXTREME_JSON.map(str.encode) | BYTES,
    ),
    st.builds(lambda kind, rest: f"v4.{kind}.{rest}", st.sampled_from(["public", "local"]), B64_TEXT | TEXT),
)

TOKENS = st.one_of(JWTS, PASETOS, TEXT, B64_TEXT)


def test_token_inspection(figures: Figures) -> None:
    """JWT and PASETO v4.public / v4.local read without a key: for expiry and display only."""
    outcomes = fuzz(figures, "JWT / PASETO inspection", TOKENS, check_inspection, examples=CHEAP, needs=())
    for kind in ("jwt with exp", "paseto-v4-public with exp", "paseto-v4-local", "opaque"):
        assert outcomes[kind], f"no example was read as {kind} ({dict(outcomes)})"


def test_pasted_tokens(replay: tuple[Replay, asyncio.Runner], figures: Figures) -> None:
    """A pasted bearer token (the static flow): its own claims give the expiry; a dead one is refused."""
    rep, runner = replay
    spec = FlowSpec("bearer", "bearer", "bearer", None, "", None, "claim", False, dict, dict)
    flow = load_flow("static")
    expired = {"sub": "user", "exp": int(NOW) - 10}

    def check(token: str) -> None:
        ctx = context(spec, {}, {"token": token}, rep.http, rep.clock)
        rep.clock.now = NOW
        check_tokens(runner.run(flow.login(ctx)))

    dead = st.builds(
        lambda sub, ago: _signed({"sub": sub, "exp": int(NOW) - ago}),
        st.text(max_size=8),
        st.integers(1, 10**8),
    )
    cases = st.one_of(TOKENS.filter(lambda t: t.strip()), dead, mutated(expired).map(_signed))
    fuzz(figures, "pasted token (static flow)", cases, check, examples=MEDIUM)


def test_retry_after(replay: tuple[Replay, asyncio.Runner], figures: Figures) -> None:
    """RFC 9110 Retry-After, alone and as the HTTP policy meets it on a 429 or 503."""
    rep, runner = replay

    def check(case: tuple[str, int]) -> str:
        value, status = case
        delay = parse_retry_after(value, NOW)
        assert delay is None or (finite(delay) and delay >= 0), delay
        kind = "none" if delay is None else "seconds" if value.strip().isdigit() else "date"
        rep.load([(status, {"retry-after": value}, b"{}"), (200, {}, b"{}")], NOW)
        try:
            resp = runner.run(rep.http.request("GET", "https://provider.example/token"))
        except RateLimited as exc:  # asked to wait longer than the policy will
            problem = one_line_problem(exc)
            assert problem is None, problem
            assert delay is not None and delay > rep.http.max_wait
            return f"{kind}, gave up"
        assert resp.status == 200
        return f"{kind}, waited"

    values = st.one_of(st.integers(0, 90).map(str), RETRY_AFTER).filter(str.isprintable)
    fuzz(
        figures,
        "Retry-After header",
        st.tuples(values, st.sampled_from([429, 503])),
        check,
        examples=CHEAP,
        needs=("seconds, waited", "seconds, gave up", "date, waited", "date, gave up", "none, waited"),
    )


# ---- files a user (or a broken disk) hands us ------------------------------------------------------

TOML_SCALARS = st.one_of(
    st.text(max_size=16),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.booleans(),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    ODD,
)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(KEYS | st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def toml_bytes(doc: dict[str, Any]) -> bytes:
    return tomli_w.dumps(doc).encode("utf-8", "surrogatepass")


def _toml_nested(depth: int) -> str:
    return "a = " + "[" * depth + "1" + "]" * depth + "\n"


TOML_EXTREME = st.one_of(
    st.integers(200, 2000).map(_toml_nested),
    st.integers(200, 2000).map(lambda d: "a = " + "{b = " * d + "1" + "}" * d + "\n"),
)


def _spliced(text: str, cut: tuple[int, int, str]) -> str:
    """The text with a slice replaced: a hand edit gone wrong."""
    start, length, insert = cut
    start %= len(text) + 1
    return text[:start] + insert + text[start + length :]


def toml_files(doc: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """A TOML file: the document mutated, hand-edited text, deep nesting, or any bytes."""
    text = tomli_w.dumps(doc)
    cuts = st.tuples(st.integers(0, 10_000), st.integers(0, 12), st.text(max_size=8))
    return st.one_of(
        mutated(doc, TOML_VALUES, root=False).map(toml_bytes),
        mutated(doc, TOML_VALUES, root=False).map(toml_bytes),
        cuts.map(lambda c: _spliced(text, c).encode("utf-8", "surrogatepass")),
        TOML_EXTREME.map(lambda t: (text + t).encode("utf-8", "surrogatepass")),
        BYTES,
    )


def check_preset(preset: Preset, stem: str) -> None:
    assert preset.id == stem
    assert preset.flow in FLOW_NAMES
    load_flow(preset.flow)
    assert preset.renew in RENEW_MODES and preset.token_format in TOKEN_FORMATS
    for fld in preset.fields:
        assert isinstance(fld.key, str) and fld.kind in FIELD_KINDS
        assert isinstance(fld.secret, bool) and isinstance(fld.required, bool)
        assert isinstance(fld.default, str) and isinstance(fld.label, str)
    assert isinstance(preset.options, StaticOptions | StepsOptions | OAuthOptions)
    json.dumps(preset.to_json())


def test_presets_loader(tmp_path: Path, figures: Figures) -> None:
    """A user's preset file (it overrides the built-in of its name): PresetError or a Preset."""
    user_dir = tmp_path / "presets"
    user_dir.mkdir()
    stems = sorted(p.stem for p in builtin_dir().glob("*.toml"))
    docs = {s: tomllib.loads((builtin_dir() / f"{s}.toml").read_text(encoding="utf-8")) for s in stems}
    files = st.one_of([st.tuples(st.just(s), toml_files(d)) for s, d in docs.items()])

    def check(case: tuple[str, bytes]) -> None:
        stem, raw = case
        (user_dir / f"{stem}.toml").write_bytes(raw)
        check_preset(PresetCatalog(user_dir).get(stem), stem)

    fuzz(figures, "presets TOML loader", files, check, examples=MEDIUM)


def test_preset_documents(figures: Figures) -> None:
    """parse_preset on the parsed TOML, any shape (the unit tests' fuzzing, with mutated real presets)."""
    stems = sorted(p.stem for p in builtin_dir().glob("*.toml"))
    docs = [tomllib.loads((builtin_dir() / f"{s}.toml").read_text(encoding="utf-8")) for s in stems]
    cases = st.one_of(
        st.sampled_from(docs).flatmap(lambda d: mutated(d, TOML_VALUES, root=False)), TOML_VALUES
    )

    def check(data: Any) -> None:
        if not isinstance(data, dict):
            data = {"id": data}
        preset = parse_preset(data, source="fuzz")
        check_preset(preset, preset.id)

    fuzz(figures, "preset documents", cases, check, examples=CHEAP)


def check_config(config: Config, path: Path) -> None:
    assert isinstance(config, Config) and isinstance(config.app, AppSettings)
    for name, account in config.accounts.items():
        assert isinstance(name, str) and account.name == name and isinstance(account.preset, str)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in account.settings.items())
    app = config.app
    assert app.default is None or isinstance(app.default, str)
    assert isinstance(app.header_format, str) and isinstance(app.autostart, bool)
    assert isinstance(app.clipboard_clear_seconds, int) and isinstance(app.notify_lead_seconds, int)
    assert parse_config(dump_config(config), path) == config  # what loads can be written back


def test_config_loader(tmp_path: Path, figures: Figures) -> None:
    """config.toml as a hand edit leaves it: ConfigError naming the file, or a Config."""
    path = tmp_path / "config.toml"
    example = tomllib.loads(CONFIG_EXAMPLE)
    files = st.one_of(
        toml_files(example),
        toml_docs.map(toml_bytes),  # the unit tests' documents
    )

    def check(raw: bytes) -> None:
        path.write_bytes(raw)
        config = load_config(path)
        check_config(config, path)

    fuzz(figures, "config TOML loader", files, check, examples=CHEAP)


@dataclass
class VaultFiles:
    store: Store
    header: dict[str, Any]
    plain: dict[str, Any]
    key: bytes


@pytest.fixture
def vault_files(keyfile_home: Path) -> VaultFiles:
    store = Store.open(keyfile_home)
    tokens = TokenSet("tok", "ref", NOW + 600, NOW, "Bearer", ("a", "b"), {"user_id": "u", "n": 3})
    store.vault.update("work", lambda e: VaultEntry({"password": "pw"}, tokens, False, None, NOW))
    store.vault.update("other", lambda e: VaultEntry({}, None, True, "HTTP 500: boom", NOW))
    header = json.loads(store.vault.file.read_bytes())
    key = store.vault.keystore.load_key(header["vault_id"])
    from cryptography.fernet import Fernet

    plain = json.loads(Fernet(key).decrypt(header["data"].encode()))
    return VaultFiles(store, header, plain, key)


def test_vault_file(vault_files: VaultFiles, figures: Figures) -> None:
    """vault.json damaged anywhere: its header, its encrypted content, its decrypted content."""
    from cryptography.fernet import Fernet

    rig = vault_files
    fernet = Fernet(rig.key)

    def sealed(plain: bytes) -> bytes:
        return json_bytes({**rig.header, "data": fernet.encrypt(plain).decode()})

    files = st.one_of(
        mutated(rig.header).map(json_bytes),
        mutated(rig.plain).map(json_bytes).map(sealed),
        mutated(rig.plain).map(json_bytes).map(sealed),
        JSON.map(json_bytes).map(sealed),
        EXTREME_JSON.map(str.encode).map(sealed),
        EXTREME_JSON.map(str.encode),
        st.builds(lambda raw, cut: raw[:cut], st.just(sealed(json_bytes(rig.plain))), st.integers(0, 400)),
        BYTES,
    )

    def check(raw: bytes) -> str:
        rig.store.vault.file.write_bytes(raw)
        entries = Vault(rig.store.paths, rig.store.vault.keystore).read_all()
        for name, entry in entries.items():
            assert isinstance(name, str) and isinstance(entry, VaultEntry)
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in entry.secrets.items())
            if entry.tokens is not None:
                assert isinstance(entry.tokens.access_token, str)
                assert entry.tokens.expires_at is None or isinstance(entry.tokens.expires_at, float)
                assert all(isinstance(s, str) for s in entry.tokens.scopes)
            json.dumps(entry.to_dict())  # it can be written back
        return "read"

    fuzz(figures, "vault file (vault.json)", files, check, examples=MEDIUM, needs=("read", "refused"))


def test_vault_key_file(vault_files: VaultFiles, figures: Figures) -> None:
    """The key file (key storage "file"): a key, or the project's own error; never a wrong key."""
    from trayauth.storage.keystore import KeyStore

    rig = vault_files
    key_file = rig.store.paths.key_file
    doc = json.loads(key_file.read_bytes())
    files = st.one_of(
        mutated(doc).map(json_bytes),
        mutated(doc).map(json_bytes),
        JSON.map(json_bytes),
        EXTREME_JSON.map(str.encode),
        BYTES,
    )

    def check(raw: bytes) -> str:
        key_file.write_bytes(raw)
        key = KeyStore(rig.store.paths).load_key(rig.header["vault_id"])
        assert key == rig.key, "a damaged key file gave another key"
        return "read"

    fuzz(figures, "vault key file", files, check, examples=MEDIUM, needs=("read", "refused"))


def test_usage_state_file(vault_files: VaultFiles, figures: Figures) -> None:
    """state.json ("last used" times): a convenience, so anything unreadable is simply forgotten."""
    rig = vault_files
    files = st.one_of(
        mutated({"last_used": {"work": NOW, "other": NOW - 60}}).map(json_bytes),
        JSON.map(json_bytes),
        EXTREME_JSON.map(str.encode),
        BYTES,
    )

    def check(raw: bytes) -> str:
        rig.store.state_file.write_bytes(raw)
        used = Store.open(rig.store.paths.root).last_used()
        assert all(isinstance(k, str) and isinstance(v, float) for k, v in used.items())
        return "read" if used else "forgotten"

    fuzz(figures, "usage state file (state.json)", files, check, examples=MEDIUM, needs=("read", "forgotten"))


def _plist(doc: Any, binary: bool) -> bytes:
    try:
        return plistlib.dumps(doc, fmt=plistlib.FMT_BINARY if binary else plistlib.FMT_XML)
    except (TypeError, ValueError, OverflowError):  # not every value has a plist form
        return plistlib.dumps({"Label": str(doc)})


def test_autostart_files(tmp_path: Path, figures: Figures) -> None:
    """Start-at-login files a desktop or a hand edit may have changed: on or off, nothing else."""
    from trayauth.desktop.autostart import APP_ID, LaunchAgent, XdgAutostart, desktop_entry, launch_agent

    command = ["/usr/bin/trayauth", "tray"]
    desktop = desktop_entry(command)
    agent_doc = plistlib.loads(launch_agent(command))
    xdg, mac = XdgAutostart(tmp_path / "autostart"), LaunchAgent(tmp_path)
    xdg.path.parent.mkdir(parents=True)
    mac.path.parent.mkdir(parents=True)
    cuts = st.tuples(st.integers(0, 10_000), st.integers(0, 40), st.text(max_size=12))
    desktops = st.one_of(
        cuts.map(lambda c: _spliced(desktop, c).encode("utf-8", "surrogatepass")),
        st.lists(
            st.sampled_from(
                ["Hidden=true", "X-GNOME-Autostart-enabled=false", "[Desktop Entry]", "[x]", "=", "%"]
            )
            | st.text(max_size=20),
            max_size=6,
        ).map(lambda lines: (desktop + "\n".join(lines)).encode("utf-8", "surrogatepass")),
        BYTES,
    )
    plists = st.one_of(
        st.builds(_plist, mutated(agent_doc, TOML_VALUES), st.booleans()),
        st.builds(lambda raw, cut: raw[:cut], st.just(launch_agent(command)), st.integers(0, 600)),
        cuts.map(lambda c: _spliced(launch_agent(command).decode(), c).encode("utf-8", "surrogatepass")),
        st.integers(100, 3000).map(lambda n: b"<plist><array>" * n),
        BYTES.map(lambda b: b"bplist00" + b),
        BYTES,
    )

    def check(case: tuple[str, bytes]) -> str:
        kind, raw = case
        target = xdg if kind == "desktop" else mac
        Path(target.location()).write_bytes(raw)
        enabled = target.is_enabled()
        assert isinstance(enabled, bool)
        return "on" if enabled else "off"

    cases = st.one_of(st.tuples(st.just("desktop"), desktops), st.tuples(st.just("plist"), plists))
    fuzz(figures, "autostart files (desktop, plist)", cases, check, examples=MEDIUM, needs=("on", "off"))
    assert APP_ID in desktop


# ---- the sign-in redirect ---------------------------------------------------------------------------

ISSUER = "https://issuer.example"
PARAM_KEYS = st.sampled_from(["code", "state", "error", "error_description", "iss", "x", "", "CODE"])
PARAM_VALUES = st.one_of(
    st.sampled_from([STATE, STATE, "", "abc", "access_denied", "server_error", ISSUER, ISSUER + "/", "\x00"]),
    TEXT,
)


def _redirect(params: list[tuple[str, str]], encode: bool, prefix: str) -> str:
    query = urlencode(params, quote_via=quote) if encode else "&".join(f"{k}={v}" for k, v in params)
    return prefix + query


CALLBACK_URLS = st.one_of(
    st.builds(
        _redirect,
        st.lists(st.tuples(PARAM_KEYS, PARAM_VALUES), max_size=6).map(
            lambda ps: [("code", "c0de"), ("state", STATE), *ps]
        ),
        st.booleans(),
        st.sampled_from(
            [f"http://127.0.0.1:{PORT}/callback?", "/callback?", "", "http://x/?a#", "https://a/b?c=d&"]
        ),
    ),
    st.builds(
        _redirect,
        st.lists(st.tuples(PARAM_KEYS, PARAM_VALUES), max_size=8),
        st.booleans(),
        st.sampled_from([f"http://127.0.0.1:{PORT}/callback?", "?", ""]),
    ),
    st.builds(lambda n: f"/callback?state={STATE}&code=c" + "&a=1" * n, st.integers(50, 80)),
    TEXT,
)


def test_callback_urls(figures: Figures) -> None:
    """The redirect, pasted or received: the code, StateMismatch (keep waiting), or a final own error."""

    def validate(url: str) -> str:
        return parse_callback(url, state=STATE, account="fuzz", issuer=ISSUER)

    def check(url: str) -> None:
        code = validate(url)
        assert isinstance(code, str) and code
        redirect = LoopbackRedirect(validate, account="fuzz")
        redirect.submit(url)  # the paste path: same answer, and the wait ends
        assert redirect.finished

    fuzz(figures, "callback / pasted redirect URL", CALLBACK_URLS, check, examples=CHEAP)


class _Writer:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


PRINTABLE = st.text(alphabet=string.ascii_letters + string.digits + " ;=/.-", max_size=20)
HEADER_NAMES = st.text(max_size=6) | st.sampled_from(["Host", "host", "HOST", " Host", "Host ", "X", ""])


def _request(method: str, target: str, version: str, headers: list[tuple[str, str]], eol: str) -> bytes:
    lines = [f"{method} {target} {version}", *(f"{k}:{v}" for k, v in headers), "", ""]
    return eol.join(lines).encode("utf-8", "surrogatepass")


REQUESTS = st.one_of(
    st.builds(
        _request,
        st.just("GET"),
        st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=20).map(
            lambda code: f"/callback?code={code}&state={STATE}"
        ),
        st.just("HTTP/1.1"),
        st.lists(st.tuples(st.sampled_from(["Accept", "User-Agent"]), PRINTABLE), max_size=2).map(
            lambda hs: [("Host", f"127.0.0.1:{PORT}"), *hs]
        ),
        st.sampled_from(["\r\n", "\n"]),
    ),
    st.builds(
        _request,
        st.sampled_from(["GET", "GET", "GET", "POST", "HEAD", "get", ""]),
        CALLBACK_URLS.map(lambda u: u.replace(f"http://127.0.0.1:{PORT}", ""))
        | st.sampled_from(["/", "*", "/x"]),
        st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2", "", "http/1.1"]),
        st.lists(st.tuples(HEADER_NAMES, st.text(max_size=20)), max_size=4).map(
            lambda hs: [("Host", f"127.0.0.1:{PORT}"), *hs]
        ),
        st.sampled_from(["\r\n", "\r\n", "\n"]),
    ),
    st.builds(lambda n: b"GET /" + b"a" * n + b" HTTP/1.1\r\n\r\n", st.integers(8000, 9000)),
    st.builds(lambda n: b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * n + b"\r\n", st.integers(60, 70)),
    BYTES,
)


def test_loopback_requests(figures: Figures) -> None:
    """Whatever reaches the loopback port: one well-formed HTTP answer, never an exception."""

    def validate(url: str) -> str:
        return parse_callback(url, state=STATE, account="fuzz")

    async def serve(raw: bytes) -> tuple[_Writer, LoopbackRedirect[str]]:
        redirect = LoopbackRedirect(validate, account="fuzz")
        redirect.port = PORT
        reader = asyncio.StreamReader(limit=8192)
        reader.feed_data(raw)
        reader.feed_eof()
        writer = _Writer()
        await redirect._serve(reader, writer)  # type: ignore[arg-type]
        return writer, redirect

    with asyncio.Runner() as runner:

        def check(raw: bytes) -> str:
            writer, redirect = runner.run(serve(raw))
            assert writer.closed
            if not writer.data:
                return "closed"  # the request never finished: nothing to answer
            head = bytes(writer.data).split(b"\r\n", 1)[0].decode("ascii")
            version, status, _ = head.split(" ", 2)
            assert version == "HTTP/1.1" and int(status) in _REASONS
            assert (int(status) == 200) == redirect.finished or int(status) == 400
            return "signed in" if status == "200" else "answered"

        fuzz(
            figures,
            "loopback HTTP request",
            REQUESTS,
            check,
            examples=CHEAP,
            needs=("signed in", "answered"),
        )


# ---- the agent socket ---------------------------------------------------------------------------------


@pytest.fixture
def agent_broker(keyfile_home: Path) -> Iterator[tuple[Broker, asyncio.Runner]]:
    with asyncio.Runner() as runner:
        broker = Broker(Store.open(keyfile_home), PresetCatalog())
        broker.add(Account("work", "bearer", {}))
        runner.run(broker.login("work", {"token": "opaque-token-0123456789"}))
        try:
            yield broker, runner
        finally:
            runner.run(broker.aclose())


REQUEST_LINES = st.one_of(
    mutated({"v": 1, "op": "token", "name": "work"}).map(json_bytes),
    mutated({"v": 1, "op": "ping"}).map(json_bytes),
    st.sampled_from(["work", "ghost", "", "a\nb", "wörk", "../x"]).map(
        lambda n: json_bytes({"v": 1, "op": "token", "name": n})
    ),
    JSON.map(json_bytes),
    EXTREME_JSON.map(str.encode),
    BYTES,
)


def test_agent_requests(
    agent_broker: tuple[Broker, asyncio.Runner], figures: Figures, tmp_path: Path
) -> None:
    """The tray's side: one JSON reply for any request line; errors are one line."""
    broker, runner = agent_broker
    server = agent.AgentServer(broker, tmp_path)

    def check(line: bytes) -> str:
        reply = runner.run(server.answer(line + b"\n"))
        assert isinstance(reply, dict) and isinstance(reply.get("ok"), bool)
        json.dumps(reply)
        if reply["ok"]:
            assert isinstance(reply.get("token"), str) or isinstance(reply.get("pid"), int)
            return "token" if "token" in reply else "ping"
        error, code = reply.get("error"), reply.get("exit_code")
        assert isinstance(error, str) and error and isinstance(code, int)
        assert len(error.splitlines()) == 1, f"the error is more than one line: {error!r}"
        return "refused"

    fuzz(
        figures,
        "agent socket request",
        REQUEST_LINES,
        check,
        examples=CHEAP,
        needs=("token", "ping", "refused"),
    )


class _ReplyServer:
    """A stand-in tray on a real socket: reads the request line, sends the scripted reply."""

    def __init__(self, directory: str) -> None:
        self.reply = b""
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(client.socket_path(directory))
        self.listener.listen(8)
        self.listener.settimeout(0.05)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    data = b""
                    while b"\n" not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    conn.sendall(self.reply)

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        self.listener.close()


TOKEN_REPLY = {"ok": True, "token": "tok", "token_type": "Bearer", "expires_at": NOW, "warning": None}
REPLIES = st.one_of(
    st.just(TOKEN_REPLY),
    mutated(TOKEN_REPLY, max_edits=1),
    mutated(TOKEN_REPLY),
    mutated({"ok": False, "error": "work: the token expired", "exit_code": 3}),
    mutated({"ok": True, "pid": 4321, "v": 1}),
    JSON,
).map(lambda r: json_bytes(r) + b"\n") | st.one_of(
    EXTREME_JSON.map(lambda t: t.encode() + b"\n"),
    BYTES,
    BYTES.map(lambda b: b + b"\n"),
)


def test_agent_replies(figures: Figures, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's side: whatever the socket says, "no tray" (go direct), a token, or an exit code."""
    from trayauth.cli.fast import via_tray

    directory = tempfile.mkdtemp(prefix="ta-fuzz-")  # short: AF_UNIX paths are limited to ~100 bytes
    monkeypatch.setattr("trayauth.client.runtime_dir", lambda: directory)
    server = _ReplyServer(directory)
    try:

        def check(reply: bytes) -> str:
            server.reply = reply
            answer = client.request_token("work", directory, timeout=2)
            assert answer is None or isinstance(answer, dict)
            pid = client.tray_running(directory, timeout=2)
            assert pid is None or (isinstance(pid, int) and not isinstance(pid, bool))
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = via_tray("token", "work")
            assert code is None or isinstance(code, int)
            if code is None:
                return "no tray"
            return "token" if code == 0 else "error"

        fuzz(
            figures,
            "agent socket reply (CLI)",
            REPLIES,
            check,
            examples=MEDIUM,
            needs=("no tray", "token", "error"),
        )
    finally:
        server.close()
        with contextlib.suppress(OSError):
            os.unlink(client.socket_path(directory))
        os.rmdir(directory)
