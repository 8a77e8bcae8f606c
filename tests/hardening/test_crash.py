"""Crash safety: ``kill -9`` at every point of a rotating refresh, then start again.

Each case logs an account in against the provider server (in this process), makes its token due,
and runs ``trayauth token`` as a real child process that SIGKILLs itself at one named point
(:mod:`trayauth.faultpoints`), or that the test kills from outside while the provider holds
its refresh request. Before the restart the state the crash left is checked against where the
kill landed (so a point that moves, or is never reached, fails its case). Then ``trayauth token``
runs again, as a fresh process, with nothing injected. A case survives when:

- the vault (and the config) still read and decrypt, after the crash and after the restart;
- the account works (the token handed out is accepted by the provider's ``whoami``), or the
  restart asks for a login cleanly (exit 3, one line, no traceback, no secret), and a fresh login
  then works;
- no refresh token reached the provider twice (every refresh request is tapped), and the
  provider's own reuse detection revoked nothing.

The kill points, in the order a renewal passes them (vault writes: 1 = the in-flight mark, 2 = the
new tokens; HTTP points count the flow's metadata fetch, if any, before the refresh request):

=============================  ======================================================  ========
point                          where                                                   phase
=============================  ======================================================  ========
vault:before_write (mark)      the in-flight mark encrypted, not yet written           before
atomic:before_rename (mark)    the mark in the temp file, fsynced, not renamed         before
vault:written (mark)           the mark on disk                                        marked
refresh:marked                 the broker past the mark                                marked
http:before_send               the refresh request built, not sent                     marked
request in flight              killed from outside while the provider holds it;        rotated
                               the provider rotates afterwards and the answer is lost
http:headers                   the answer's headers read                               rotated
http:body_read                 the whole answer read                                   rotated
refresh:received               the new tokens parsed                                   rotated
vault:before_write (tokens)    the new tokens encrypted, not yet written               rotated
atomic:before_rename (tokens)  the new tokens in the temp file, not renamed            rotated
vault:written (tokens)         the new tokens on disk                                  stored
refresh:stored                 the broker past the store                               stored
=============================  ======================================================  ========
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import ssl
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from tests.hardening.cases import Figures, FlowSpec, clear_line, shipped_flows
from tests.support.cli import REPO, expire_now, run_cli, spawn_cli
from trayauth import faultpoints
from trayauth.demo import ProviderServer
from trayauth.domain.model import Account, TokenSet
from trayauth.domain.presets import PresetCatalog
from trayauth.domain.prompts import BrowserSignIn, RecordingAsker
from trayauth.flows import discovery
from trayauth.net.http import HttpPolicy
from trayauth.services.broker import Broker
from trayauth.storage.store import Store
from trayauth.storage.vault import VaultEntry

NAME = "acct"
CHILD_TIMEOUT = 60.0  # generous: a stuck child fails its case, it never hangs the suite
_TLS = ssl.create_default_context()  # one for every in-process client: CA loading costs ~30 ms


# --------------------------------------------------------------------------------------------
# The flows: every rotating flow of the rig, plus the browser-sign-in OAuth preset


@dataclass(frozen=True)
class CrashFlow:
    key: str
    preset: str
    vendor: str
    settings: Callable[[Any], dict[str, str]]
    secrets: Callable[[Any], dict[str, str]]
    browser: bool = False  # signs in through the browser (the test plays it)
    requests_before: int = 0  # HTTP requests a renewal makes before the refresh itself (metadata)


def _from_rig(spec: FlowSpec) -> CrashFlow:
    return CrashFlow(spec.key, spec.preset, spec.vendor, spec.settings, spec.secrets)


# The generic OAuth 2.0 preset as most people use it: issuer only, so every process that renews
# reads the metadata first (a kill during that fetch is "http:*@1", the refresh request is "@2").
OAUTH2_BROWSER = CrashFlow(
    "oauth2",
    "oauth2",
    "oauth",
    lambda srv: {
        "issuer": srv.issuer,
        "client_id": srv.users["oauth"]["public_client_id"],
        "scopes": "openid offline_access",
    },
    lambda srv: {},
    browser=True,
    requests_before=1,
)


def crash_flows() -> list[CrashFlow]:
    return [_from_rig(spec) for spec in shipped_flows() if spec.rotating] + [OAUTH2_BROWSER]


# --------------------------------------------------------------------------------------------
# The kill points

BEFORE, MARKED, ROTATED, STORED = "before", "marked", "rotated", "stored"


@dataclass(frozen=True)
class KillPoint:
    label: str
    point: str | None  # a faultpoint; None: killed from outside while the provider holds the request
    phase: str  # what the crash leaves behind (see the module docstring)
    visit: int = 1
    http: bool = False  # the visit counts HTTP requests: shifted by the flow's requests before

    def target(self, flow: CrashFlow) -> str:
        assert self.point is not None
        visit = self.visit + (flow.requests_before if self.http else 0)
        return self.point if visit == 1 else f"{self.point}@{visit}"


POINTS: tuple[KillPoint, ...] = (
    KillPoint("vault:before_write (mark)", "vault:before_write", BEFORE, visit=1),
    KillPoint("atomic:before_rename (mark)", "atomic:before_rename", BEFORE, visit=1),
    KillPoint("vault:written (mark)", "vault:written", MARKED, visit=1),
    KillPoint("refresh:marked", "refresh:marked", MARKED),
    KillPoint("http:before_send", "http:before_send", MARKED, http=True),
    KillPoint("request in flight", None, ROTATED),
    KillPoint("http:headers", "http:headers", ROTATED, http=True),
    KillPoint("http:body_read", "http:body_read", ROTATED, http=True),
    KillPoint("refresh:received", "refresh:received", ROTATED),
    KillPoint("vault:before_write (tokens)", "vault:before_write", ROTATED, visit=2),
    KillPoint("atomic:before_rename (tokens)", "atomic:before_rename", ROTATED, visit=2),
    KillPoint("vault:written (tokens)", "vault:written", STORED, visit=2),
    KillPoint("refresh:stored", "refresh:stored", STORED),
)


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9:_]+", "-", label).strip("-")


def test_every_kill_point_in_the_code_is_tried() -> None:
    """A faultpoint added to trayauth but not to POINTS would be a crash nobody tries."""
    pattern = re.compile(r"""faultpoints\.reached\(\s*["']([^"']+)["']""")
    in_code = {
        match
        for path in (REPO / "trayauth").rglob("*.py")
        for match in pattern.findall(path.read_text(encoding="utf-8"))
    }
    assert len(in_code) >= 9, f"the kill points were not found in the source: {sorted(in_code)}"
    assert in_code <= {p.point for p in POINTS}, f"never tried: {sorted(in_code - {p.point for p in POINTS})}"


# --------------------------------------------------------------------------------------------
# A tap on the provider: every refresh token presented, and a hold for the in-flight kill


def _params(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        return doc
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return {}


class Tap:
    """Wraps the provider's dispatch: records refresh grants; can hold the next one for a kill."""

    def __init__(self, srv: ProviderServer, monkeypatch: pytest.MonkeyPatch) -> None:
        self._dispatch = srv.dispatch
        self.presented: list[str] = []
        self.hold_next = False
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.processed = threading.Event()
        monkeypatch.setattr(srv, "dispatch", self.dispatch)

    def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
        params = _params(body)
        if params.get("grant_type") != "refresh_token":
            return self._dispatch(method, target, headers, body)
        self.presented.append(str(params.get("refresh_token")))
        if not self.hold_next:
            return self._dispatch(method, target, headers, body)
        self.hold_next = False
        self.arrived.set()
        self.release.wait(CHILD_TIMEOUT)
        try:
            self._dispatch(method, target, headers, body)  # the provider rotates for a dead client
        finally:
            self.processed.set()
        return None  # and its answer is lost (the connection is reset)

    def held_and_killed(self, proc: subprocess.Popen[str]) -> tuple[str, str]:
        """Kill ``proc`` while its refresh request sits in the provider; then let the provider go on."""
        try:
            while not self.arrived.wait(0.05):
                if proc.poll() is not None:
                    _out, err = proc.communicate()
                    raise AssertionError(
                        f"the child ended (exit {proc.returncode}) before its refresh reached the provider: "
                        f"{err.strip()!r}"
                    )
            os.kill(proc.pid, signal.SIGKILL)
            return proc.communicate(timeout=CHILD_TIMEOUT)
        finally:
            self.release.set()
            if self.arrived.is_set():
                assert self.processed.wait(CHILD_TIMEOUT), "the provider never finished the held request"


# --------------------------------------------------------------------------------------------
# Steps of a case


async def _login(flow: CrashFlow, srv: ProviderServer, home: Path) -> TokenSet:
    """Log the account in, in this process (adding it first when it is new)."""
    client = httpx.AsyncClient(timeout=10, follow_redirects=False, verify=_TLS)
    broker = Broker(Store.open(home), PresetCatalog(), http=HttpPolicy(client))
    try:
        if NAME not in broker.store.config.load().accounts:
            broker.add(Account(NAME, flow.preset, flow.settings(srv)))
        if not flow.browser:
            return await broker.login(NAME, flow.secrets(srv))
        asker = RecordingAsker()
        task = asyncio.ensure_future(broker.login(NAME, {}, asker=asker))
        asked = asyncio.ensure_future(asker.event.wait())
        await asyncio.wait({task, asked}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if not asked.done():
            asked.cancel()
            if task.done():
                return task.result()  # raises the login's error
            task.cancel()
            raise AssertionError("the browser sign-in was never offered")
        question = asker.questions[-1]
        assert isinstance(question, BrowserSignIn)
        async with httpx.AsyncClient(follow_redirects=True, timeout=10, verify=_TLS) as browser:
            page = await browser.get(question.url)
        assert page.status_code == 200, page.text
        return await asyncio.wait_for(task, 10)
    finally:
        await broker.aclose()
        await client.aclose()


def _entry(home: Path) -> VaultEntry:
    """The account's vault entry as a new process would read it: raises VaultError when corrupt."""
    store = Store.open(home)
    assert NAME in store.config.load().accounts, "the account vanished from the config"
    return store.vault.entry(NAME)


def _works(srv: ProviderServer, vendor: str, token: str) -> bool:
    """The provider accepts the token: its whoami endpoint says so, over HTTP."""
    resp = httpx.get(
        f"{srv.base_url(vendor)}/whoami",
        headers={"Authorization": f"Bearer {token}"},
        verify=_TLS,
        timeout=10,
    )
    return resp.status_code == 200 and resp.json().get("ok") is True and srv.check(vendor, token)


def _temp_files(home: Path) -> list[Path]:
    return sorted(home.glob(".vault.json.*.tmp"))


def _check_phase(
    point: KillPoint,
    entry: VaultEntry,
    srv: ProviderServer,
    vendor: str,
    refreshes: int,
    old: TokenSet,
    home: Path,
) -> None:
    """The crash left what a kill at this point must leave: proof the kill landed where it says."""
    tokens = entry.tokens
    assert tokens is not None, "the crash lost the account's tokens"
    rotated = srv.refreshes(vendor) - refreshes
    where = f"after a kill at {point.label}"
    if point.phase in (BEFORE, MARKED, ROTATED):
        assert tokens.refresh_token == old.refresh_token, f"{where}: the stored refresh token changed"
        assert entry.refresh_in_flight == (point.phase != BEFORE), f"{where}: in-flight mark is wrong"
        assert rotated == (1 if point.phase == ROTATED else 0), f"{where}: the provider rotated {rotated}x"
    else:
        assert not entry.refresh_in_flight, f"{where}: the in-flight mark is still set"
        assert tokens.refresh_token and tokens.refresh_token != old.refresh_token, f"{where}: not stored"
        assert rotated == 1, f"{where}: the provider rotated {rotated}x"
        assert srv.check(vendor, tokens.access_token), f"{where}: the stored token is not the provider's"
    if point.point == "atomic:before_rename":
        assert _temp_files(home), f"{where}: no temp file: the kill was not inside the vault write"


def _restart(srv: ProviderServer, flow: CrashFlow, stored: TokenSet, old: TokenSet) -> str:
    """``trayauth token`` in a fresh process: the outcome, after checking it is a good one."""
    before = srv.refreshes(flow.vendor)
    proc = spawn_cli("token", NAME)
    out, err = proc.communicate(timeout=CHILD_TIMEOUT)
    assert "Traceback" not in err, err
    secrets = [s for s in (old.access_token, old.refresh_token, stored.refresh_token) if s]
    secrets += [v for v in flow.secrets(srv).values() if v]
    if proc.returncode == 0:
        token = out.strip()
        assert token and "\n" not in token, f"not one token: {out!r}"
        assert _works(srv, flow.vendor, token), "the restart handed out a token the provider refuses"
        if token == stored.access_token:
            assert srv.refreshes(flow.vendor) == before, "renewed although the stored token was fresh"
            return "ok"
        if srv.refreshes(flow.vendor) == before and PresetCatalog().get(flow.preset).keep_secrets:
            # The refresh token may be spent: a flow that kept its credentials logs in again.
            return "relogin"
        assert srv.refreshes(flow.vendor) == before + 1, "a new token without one refresh"
        return "renewed"
    assert proc.returncode == 3, f"neither a token nor 'log in' (exit {proc.returncode}): {err!r}"
    assert out == "", f"printed something with a failure: {out!r}"
    problem = clear_line(err.strip(), secrets)
    assert problem is None, f"the login request is not one clean line: {problem}"
    assert "login" in err, f"does not say to log in: {err!r}"
    return "login"


def _run_case(flow: CrashFlow, point: KillPoint, srv: ProviderServer, tap: Tap, home: Path) -> str:
    preset = PresetCatalog().get(flow.preset)
    assert preset.options.rotating_refresh is True, f"{flow.preset} does not rotate: nothing to test"
    first = asyncio.run(_login(flow, srv, home))
    assert first.refresh_token, "the login gave no refresh token: nothing to rotate"
    expire_now(NAME)
    old = _entry(home).tokens
    assert old is not None
    refreshes = srv.refreshes(flow.vendor)

    if point.point is None:
        tap.hold_next = True
        proc = spawn_cli("token", NAME)
        _out, err = tap.held_and_killed(proc)
        where = "while the request was in flight"
    else:
        proc = spawn_cli("token", NAME, env={faultpoints.ENV: point.target(flow)})
        _out, err = proc.communicate(timeout=CHILD_TIMEOUT)
        where = f"at {point.target(flow)}"
    assert proc.returncode == -signal.SIGKILL, f"not killed {where}: exit {proc.returncode}, {err.strip()!r}"

    crashed = _entry(home)  # the vault decrypts after the crash
    _check_phase(point, crashed, srv, flow.vendor, refreshes, old, home)
    assert crashed.tokens is not None

    outcome = _restart(srv, flow, crashed.tokens, old)
    after = _entry(home)  # and after the restart
    assert after.tokens is not None
    # Nothing was at risk before the mark, and nothing is lost once the new tokens are stored:
    # there, asking for a login would be a needless cost (anywhere else it is the safe answer).
    expected = {BEFORE: "renewed", STORED: "ok"}.get(point.phase)
    assert expected in (None, outcome), f"after a kill at {point.label} the restart says {outcome!r}"
    if PresetCatalog().get(flow.preset).keep_secrets and not flow.browser:
        assert outcome != "login", f"{flow.key} kept its credentials, yet asks for a login"
    if outcome == "login":
        again = asyncio.run(_login(flow, srv, home))  # asking for a login is honest: one fixes it
        assert _works(srv, flow.vendor, again.access_token)
        result = run_cli("token", NAME)  # in this process: the account's state is all on disk
        assert (result.code, result.out.strip()) == (0, again.access_token), result.err

    assert len(tap.presented) == len(set(tap.presented)), "a spent refresh token was sent again"
    assert srv.revoked_families(flow.vendor) == 0, "the provider caught a reused refresh token"
    return outcome


@pytest.mark.parametrize(
    ("flow", "point"),
    [pytest.param(f, p, id=f"{f.key}-{_slug(p.label)}") for f in crash_flows() for p in POINTS],
)
def test_kill_during_refresh(
    flow: CrashFlow,
    point: KillPoint,
    keyfile_home: Path,
    fresh_provider: ProviderServer,
    monkeypatch: pytest.MonkeyPatch,
    figures: Figures,
) -> None:
    discovery.forget()  # the login below must not lean on metadata an earlier case fetched
    tap = Tap(fresh_provider, monkeypatch)
    try:
        outcome = _run_case(flow, point, fresh_provider, tap, keyfile_home)
    except BaseException as exc:
        figures.kill(flow.key, point.label, False, f"failed:{exc.__class__.__name__}")
        raise
    figures.kill(flow.key, point.label, True, outcome)
