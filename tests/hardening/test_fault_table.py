"""The fault table: every flow against every way a provider or the network misbehaves.

Each case logs an account in against the provider server, brings the clock inside the renewal
margin, breaks one thing, and asks the broker for a token (op "renew"), or logs in again while it
is broken (op "login"). Then the background scheduler runs for ten simulated minutes, the fault is
cleared, and the account is used once more. A case survives when:

- nothing but trayauth's own errors escapes, and every message a user sees is one clean line;
- during a renewal the account keeps its last good token (the server still accepts what it hands
  out), and a failed login leaves the stored session exactly as it was;
- no request storm: at most the HTTP policy's attempts per renewal, and the scheduler's backoff
  over the ten minutes;
- afterwards the account works again, or (a rotating refresh token that may have been spent) asks
  for a login, and the server never saw a spent refresh token come back (revoked families = 0).

Sleeps and the wall clock are injected (the provider server reads the same clock), so the whole
table costs real time only where real sockets must time out.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hardening.cases import (
    Figures,
    FlowSpec,
    blackhole,
    clear_line,
    closed_port,
    shipped_flows,
)
from tests.support.clock import FakeClock, Sleeps
from trayauth.cli.wording import line as cli_line
from trayauth.demo import ProviderServer
from trayauth.domain.errors import LoginRequired, TrayauthError
from trayauth.domain.events import AccountEvent
from trayauth.domain.model import Account, TokenSet
from trayauth.domain.presets import PresetCatalog
from trayauth.domain.tokens import renewal_margin
from trayauth.net.http import HttpPolicy
from trayauth.services.broker import Broker
from trayauth.services.scheduler import RenewalScheduler
from trayauth.storage.store import Store

MAX_ATTEMPTS = 4  # the HTTP policy's default
# Every case talks plain HTTP to loopback; one TLS context for all spares ~30 ms of CA loading each.
_TLS = ssl.create_default_context()
STORM_WINDOW = 600.0  # the scheduler runs this long (simulated) after the fault
STORM_MAX_RENEWALS = 8  # backoff 15, 30, 60, 120, 240 s: six tries in ten minutes, plus slack


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Any = None  # a provider-server fault
    times: int = 1
    net: str | None = None  # "refused" | "blackhole": below HTTP
    expiry: str | None = None  # the answer's expiry field spoiled
    offset: float = 0.0  # the provider's clock runs this far ahead of ours
    lifetime: float | None = None  # the provider's token lifetime while the fault lasts


PERSISTENT = 1000
FAULTS: tuple[Fault, ...] = (
    Fault("connect refused", net="refused"),
    Fault("connect timeout", net="blackhole"),
    Fault("read timeout", inject="delay:0.6"),
    Fault("connection reset", inject="reset"),
    Fault("reset after processing", inject="reset_after_processing"),
    Fault("500", inject={"status": 500, "body": "Internal Server Error"}),
    Fault("500 OAuth error body", inject={"status": 500, "body": {"error": "server_error"}}),
    Fault("502 persistent", inject={"status": 502}, times=PERSISTENT),
    Fault("503 once", inject={"status": 503}),
    Fault("503 persistent", inject={"status": 503}, times=PERSISTENT),
    Fault("429 Retry-After: 7", inject={"status": 429, "headers": {"Retry-After": "7"}}),
    Fault("429 Retry-After date", inject={"status": 429, "headers": {"Retry-After": "@date+5"}}),
    Fault("429 no Retry-After", inject={"status": 429}),
    Fault("429 Retry-After: 3600", inject={"status": 429, "headers": {"Retry-After": "3600"}}),
    Fault("429 persistent", inject={"status": 429, "headers": {"Retry-After": "2"}}, times=PERSISTENT),
    Fault("429 garbage Retry-After", inject={"status": 429, "headers": {"Retry-After": "soon"}}),
    Fault("truncated JSON", inject="truncated_json"),
    Fault("non-JSON body", inject="not_json"),
    Fault("HTML error page", inject="html_error"),
    Fault("wrong content type", inject="wrong_content_type"),
    Fault("missing fields", inject="missing_fields"),
    Fault("JSON array body", inject={"status": 200, "body": [1, 2, 3], "after_processing": True}),
    Fault("empty 200 body", inject={"status": 200, "body": "", "after_processing": True}),
    Fault("10 MB body", inject="big_body:10485760"),
    Fault("expiry as a string", expiry="string"),
    Fault("expiry negative", expiry="negative"),
    Fault("expiry zero", expiry="zero"),
    Fault("expiry absent", expiry="absent"),
    Fault("expiry garbage", expiry="garbage"),
    Fault("expiry huge", expiry="huge"),
    Fault("clock 5 min ahead", offset=300),
    Fault("clock 5 min behind", offset=-300),
    Fault("clock 5 min behind, 2 min tokens", offset=-300, lifetime=120),
    Fault("clock 5 min ahead, 2 min tokens", offset=300, lifetime=120),
)


def _cases() -> Iterator[Any]:
    for spec in shipped_flows():
        for fault in FAULTS:
            for op in ("renew", "login"):
                if op == "renew" and spec.renew_endpoint is None:
                    continue
                if (fault.expiry or fault.offset) and spec.expiry_field is None:
                    continue
                yield pytest.param(spec, fault, op, id=f"{spec.key}-{op}-{fault.name}")


def _expiry_value(spec: FlowSpec, kind: str, now: float) -> Any:
    """The spoiled expiry, in the shape the flow's vendor uses."""
    if spec.expiry_style == "in":
        spoiled = {"string": "3600", "negative": -60, "zero": 0, "absent": None, "garbage": "soon"}
        spoiled["huge"] = 1e300
        return spoiled[kind]
    if spec.expiry_style == "iso":
        iso = lambda t: datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")  # noqa: E731
        return {
            "string": str(int(now + 3600)),
            "negative": iso(now - 60),
            "zero": "1970-01-01T00:00:00Z",
            "absent": None,
            "garbage": "next tuesday",
            "huge": "9999-12-31T23:59:59Z",
        }[kind]
    return {
        "string": str(int(now + 3600)),
        "negative": int(now - 60),
        "zero": 0,
        "absent": None,
        "garbage": "soon",
        "huge": 10**30,
    }[kind]


class Case:
    """One account on its own provider server, with everything the checks need to look at."""

    def __init__(self, spec: FlowSpec, root: Path) -> None:
        self.spec = spec
        self.clock = FakeClock()
        self.sleeps = Sleeps(self.clock)
        self.srv = ProviderServer(clock=self.clock).start()
        self.srv.set_rate_limit(spec.vendor, None)  # only the injected 429s
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(0.25, connect=0.15), follow_redirects=False, verify=_TLS
        )
        self.http = HttpPolicy(self.client, sleep=self.sleeps, clock=self.clock)
        self.broker = Broker(Store.open(root), PresetCatalog(), http=self.http, clock=self.clock)
        self.events: list[AccountEvent] = []
        self.broker.subscribe(self.events.append)
        self.name = "acct"
        self.settings = spec.settings(self.srv)
        self.secrets = spec.secrets(self.srv)
        self.problems: list[str] = []

    async def close(self) -> None:
        await self.broker.aclose()
        await self.client.aclose()
        self.srv.stop()

    def requests(self) -> int:
        endpoints = {self.spec.login_endpoint, self.spec.renew_endpoint} - {None}
        return sum(self.srv.count(self.spec.vendor, e) for e in endpoints)  # type: ignore[arg-type]

    def known_secrets(self, *tokens: TokenSet | None) -> list[str]:
        found = list(self.secrets.values())
        for t in tokens:
            if t is not None:
                found += [t.access_token, t.refresh_token or ""]
        return [s for s in found if s]

    def check_line(self, where: str, text: str | None, *tokens: TokenSet | None) -> None:
        problem = clear_line(text, self.known_secrets(*tokens))
        if problem:
            self.problems.append(f"{where}: {problem}")

    def accepted(self, tokens: TokenSet | None) -> bool:
        return tokens is not None and self.srv.check(self.spec.vendor, tokens.access_token)

    def set_base(self, base: str) -> None:
        settings = dict(self.settings)
        if "base_url" in settings:
            settings["base_url"] = base
        for key in ("issuer", "token_url"):
            if key in settings:
                settings[key] = settings[key].replace(self.srv.url, base.rsplit("/", 1)[0])
        self.broker.store.config.update_account_settings(self.name, settings)

    def apply(self, fault: Fault, endpoint: str) -> None:
        if fault.inject is not None:
            spec = fault.inject
            if isinstance(spec, dict) and spec.get("headers", {}).get("Retry-After") == "@date+5":
                when = datetime.fromtimestamp(self.clock() + 5, UTC)
                spec = {**spec, "headers": {"Retry-After": format_datetime(when, usegmt=True)}}
            self.srv.inject(self.spec.vendor, endpoint, spec, times=fault.times)
        if fault.expiry is not None:
            field_name = self.spec.expiry_field
            value = _expiry_value(self.spec, fault.expiry, self.srv.now())
            self.srv.inject(self.spec.vendor, endpoint, f"field:{field_name}={json.dumps(value)}")
        if fault.offset:
            self.srv.clock_offset = fault.offset
        if fault.lifetime is not None:
            self.srv.set_lifetime(self.spec.vendor, fault.lifetime)

    def clear(self) -> None:
        self.srv.clear_faults()
        self.srv.clock_offset = 0.0
        self.srv.settings.lifetimes.update(type(self.srv.settings)().lifetimes)
        self.broker.store.config.update_account_settings(self.name, self.settings)

    async def run_scheduler(self, seconds: float) -> int:
        """Drive the background scheduler through ``seconds`` of simulated time; renewals started."""
        scheduler = RenewalScheduler(self.broker, clock=self.clock)
        end = self.clock() + seconds
        renewals = 0
        for _ in range(200):
            if self.clock() >= end:
                break
            delay = await scheduler.tick()
            started = await scheduler.settle()
            if started:
                renewals += started
                continue  # run() wakes at once when a renewal ends
            self.clock.advance(min(delay, end - self.clock() + 0.001))
        else:
            self.problems.append("the scheduler never slept: a renewal loop")
        return renewals


@pytest.mark.asyncio
@pytest.mark.parametrize(("spec", "fault", "op"), list(_cases()))
async def test_fault(spec: FlowSpec, fault: Fault, op: str, keyfile_home: Path, figures: Figures) -> None:
    case = Case(spec, keyfile_home)
    try:
        outcome = await _run(case, fault, op)
    except BaseException as exc:  # a crash is a failed case: record it, then fail loudly
        figures.fault(spec.key, fault.name, op, False, f"crash:{exc.__class__.__name__}")
        raise
    finally:
        await case.close()
    survived = not case.problems
    figures.fault(spec.key, fault.name, op, survived, outcome)
    assert survived, case.problems


async def _run(case: Case, fault: Fault, op: str) -> str:
    spec, broker, srv, name = case.spec, case.broker, case.srv, case.name
    broker.add(Account(name, spec.preset, case.settings))
    first = await broker.login(name, case.secrets)
    assert case.accepted(first)
    endpoint = (spec.renew_endpoint or spec.login_endpoint) if fault.expiry else spec.login_endpoint
    if op == "renew":
        endpoint = spec.renew_endpoint if not fault.expiry else endpoint
        assert first.expires_at is not None
        case.clock.now = first.expires_at - renewal_margin(first) / 2  # due, and still valid

    with blackhole() if fault.net == "blackhole" else _nothing() as hole:
        if fault.net == "refused":
            case.set_base(f"http://127.0.0.1:{closed_port()}/{spec.vendor}")
        elif fault.net == "blackhole":
            case.set_base(f"http://127.0.0.1:{hole}/{spec.vendor}")
        case.apply(fault, endpoint)  # type: ignore[arg-type]
        before = case.requests()
        got: TokenSet | None = None
        error: str | None = None
        try:
            got = await (broker.token(name) if op == "renew" else broker.login(name, case.secrets))
        except TrayauthError as exc:
            error = cli_line(exc)
            case.check_line(f"{op} error", error, first)
        sent = case.requests() - before
        steps = 2 if spec.key == "sentiance" and op == "login" else 1
        if sent > MAX_ATTEMPTS * steps:
            case.problems.append(f"{sent} requests for one {op}: a storm")

        stored = broker.store.vault.entry(name).tokens
        view = broker.view(name)
        if view.error:
            case.check_line("the account's error", view.error, first, got)
        if op == "renew":
            if got is None:
                case.problems.append(f"the still-valid token was not handed out ({error})")
            elif not case.accepted(got):
                case.problems.append("handed out a token the provider does not accept")
            outcome = "renewed" if got is not None and got.access_token != first.access_token else "kept"
        else:
            if error is not None and (stored is None or stored.access_token != first.access_token):
                case.problems.append("a failed login changed the stored session")
            if error is None and not case.accepted(got):
                case.problems.append("the login stored a token the provider does not accept")
            outcome = "ok" if error is None else "refused"

        renewals = await case.run_scheduler(STORM_WINDOW)
        if renewals > STORM_MAX_RENEWALS:
            case.problems.append(f"the scheduler renewed {renewals} times in {STORM_WINDOW:.0f} s: a storm")
    case.clear()

    # Afterwards: past the old token's life, the account works again or asks for a login.
    case.clock.advance(7200)
    try:
        final = await broker.token(name)
        if not case.accepted(final):
            case.problems.append("after the fault the account hands out a dead token")
    except LoginRequired as exc:
        case.check_line("after the fault", cli_line(exc))
        if not spec.rotating:
            case.problems.append(f"asks for a login although it could renew itself: {cli_line(exc)}")
        again = await broker.login(name, case.secrets)
        if not case.accepted(again):
            case.problems.append("a fresh login after the fault does not work")
        outcome += "+login"
    except TrayauthError as exc:
        case.problems.append(f"after the fault the account is stuck: {cli_line(exc)}")
    for event in case.events:
        if event.message:
            case.check_line(f"event {event.kind}", event.message, first)
    if srv.revoked_families(spec.vendor):
        case.problems.append("a spent refresh token was sent again: the provider revoked the session")
    return outcome


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
