"""What the hardening tests share: the flows under test, a tally of figures, network helpers.

Every flow is described once (:data:`FLOWS`): which preset, which provider endpoint renews it, which
field of the answer states the expiry. The fault table, the secret scan and the load test all walk
the same list, so a flow added here is attacked everywhere.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------------------------
# The figures the suite prints


@dataclass
class Outcome:
    """What a survived attack ended in, in a few words (the figures' last column)."""

    text: str = "held"


@dataclass
class Figures:
    faults: dict[tuple[str, str, str], tuple[bool, str]] = field(default_factory=dict)
    kills: dict[tuple[str, str], tuple[bool, str]] = field(default_factory=dict)
    fuzz: dict[str, int] = field(default_factory=dict)
    lags: dict[str, str] = field(default_factory=dict)
    counts: dict[str, str] = field(default_factory=dict)
    # Round two: (issue item, case) -> (survived, outcome)
    attacks: dict[tuple[int, str], tuple[bool, str]] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (self.faults or self.kills or self.fuzz or self.lags or self.counts or self.attacks)

    def attack(self, item: int, case: str, survived: bool, outcome: str) -> None:
        self.attacks[(item, case)] = (survived, outcome)

    @contextmanager
    def trying(self, item: int, case: str) -> Iterator[Outcome]:
        """Record one attack of round two: survived unless the block raises (then re-raised)."""
        outcome = Outcome()
        try:
            yield outcome
        except BaseException as exc:
            self.attack(item, case, False, f"failed ({exc.__class__.__name__})")
            raise
        self.attack(item, case, True, outcome.text)

    def fault(self, flow: str, fault: str, op: str, survived: bool, outcome: str) -> None:
        self.faults[(flow, fault, op)] = (survived, outcome)

    def kill(self, flow: str, point: str, survived: bool, outcome: str) -> None:
        self.kills[(flow, point)] = (survived, outcome)

    def report(self) -> list[str]:
        lines: list[str] = []
        if self.faults:
            lines += _matrix(
                "fault table",
                [((f, flow), f"{op[0]}:{outcome}") for (flow, f, op), (_ok, outcome) in self.faults.items()],
                self.faults,
                key=lambda k: (k[1], k[0]),
            )
            lines.append(
                "  outcome: renewed = got a new token; kept = old token kept, one line shown; "
                "login = asks for a login (never resent a spent token); refused = login failed cleanly"
            )
        if self.kills:
            lines += _matrix(
                "crash safety (kill -9)",
                [((p, flow), outcome) for (flow, p), (_ok, outcome) in self.kills.items()],
                self.kills,
                key=lambda k: (k[1], k[0]),
            )
        if self.fuzz:
            total = sum(self.fuzz.values())
            lines.append(f"fuzzing: {total} examples over {len(self.fuzz)} parsers, no foreign exception")
            lines += [f"  {name:<34} {n:>6}" for name, n in sorted(self.fuzz.items())]
        if self.attacks:
            tried, survived = len(self.attacks), sum(1 for ok, _ in self.attacks.values() if ok)
            lines.append(f"round two (issue 9): {tried} cases tried, {survived} survived")
            width = max(len(case) for _item, case in self.attacks) + 2
            for (item, case), (ok, text) in sorted(self.attacks.items()):
                lines.append(f"  {item:>2}. {case.ljust(width)}{text}{'' if ok else '  FAILED'}")
        for name, value in sorted(self.counts.items()):
            lines.append(f"{name}: {value}")
        for name, value in sorted(self.lags.items()):
            lines.append(f"{name}: {value}")
        return lines


def _matrix(
    title: str,
    cells: list[tuple[tuple[str, str], str]],
    results: dict[Any, tuple[bool, str]],
    key: Callable[[Any], tuple[str, str]],
) -> list[str]:
    """A table of outcomes: one row per fault (or kill point), one column per flow."""
    tried = len(results)
    survived = sum(1 for ok, _ in results.values() if ok)
    failed = sorted(key(k) for k, (ok, _) in results.items() if not ok)
    rows = list(dict.fromkeys(r for (r, _), _t in cells))
    cols = list(dict.fromkeys(c for (_, c), _t in cells))
    merged: dict[tuple[str, str], list[str]] = {}
    for (row, col), text in cells:
        merged.setdefault((row, col), []).append(text)
    width = max(len(r) for r in rows) + 2
    colw = {
        c: max([len(c)] + [len(" ".join(v)) for (_r, cc), v in merged.items() if cc == c]) + 2 for c in cols
    }
    lines = [f"{title}: {tried} cases tried, {survived} survived"]
    lines.append("  " + "".ljust(width) + "".join(c.ljust(colw[c]) for c in cols))
    for row in rows:
        lines.append(
            "  "
            + row.ljust(width)
            + "".join(" ".join(merged.get((row, c), ["-"])).ljust(colw[c]) for c in cols)
        )
    for row, col in failed:
        lines.append(f"  FAILED: {row} / {col}")
    return lines


# --------------------------------------------------------------------------------------------
# The flows under attack


@dataclass(frozen=True)
class FlowSpec:
    """One preset as the provider server serves it."""

    key: str
    preset: str
    vendor: str
    renew_endpoint: str | None  # None: the token cannot renew itself (static)
    login_endpoint: str
    expiry_field: str | None  # the answer's field that states the expiry
    expiry_style: str  # "in" (seconds), "iso" (ISO 8601), "ts" (POSIX seconds), "claim" (JWT exp)
    rotating: bool
    settings: Callable[[Any], dict[str, str]]
    secrets: Callable[[Any], dict[str, str]]

    def account_secrets(self, srv: Any) -> list[str]:
        return [v for v in self.secrets(srv).values() if v]


def _user(vendor: str) -> Callable[[Any], dict[str, str]]:
    return lambda srv: {"base_url": srv.base_url(vendor), "username": srv.users[vendor]["username"]}


def _password(vendor: str) -> Callable[[Any], dict[str, str]]:
    return lambda srv: {"password": srv.users[vendor]["password"]}


FLOWS: tuple[FlowSpec, ...] = (
    FlowSpec(
        "sentiance",
        "sentiance",
        "sentiance",
        "auth/token",
        "auth/local",
        "expires_at",
        "iso",
        True,
        _user("sentiance"),
        _password("sentiance"),
    ),
    FlowSpec(
        "amino",
        "amino",
        "amino",
        "api/auth/v1/access_tokens",
        "api/auth/v1/access_tokens",
        "expires_at_timestamp",
        "ts",
        True,
        _user("amino"),
        _password("amino"),
    ),
    FlowSpec(
        "senseye",
        "senseye",
        "senseye",
        "oauth/token",
        "oauth/token",
        "expires_in",
        "in",
        False,
        _user("senseye"),
        _password("senseye"),
    ),
    FlowSpec(
        "sensos",
        "sensos",
        "sensos",
        "v1/applications/token",
        "v1/applications/token",
        "expiresIn",
        "in",
        False,
        lambda srv: {
            "base_url": srv.base_url("sensos"),
            "tenant_id": srv.users["sensos"]["tenant_id"],
            "application_id": srv.users["sensos"]["application_id"],
        },
        lambda srv: {"application_secret": srv.users["sensos"]["application_secret"]},
    ),
    FlowSpec(
        "attentive",
        "attentive",
        "attentive",
        None,
        "v1/me",
        None,
        "none",
        False,
        lambda srv: {"base_url": srv.base_url("attentive")},
        lambda srv: {"api_key": srv.users["attentive"]["api_key"]},
    ),
)

# The OAuth presets, attacked as soon as they ship (their flows are written separately).
OAUTH_FLOWS: tuple[FlowSpec, ...] = (
    FlowSpec(
        "oauth2-password",
        "oauth2-password",
        "oauth",
        "token",
        "token",
        "expires_in",
        "in",
        True,
        lambda srv: {
            "issuer": srv.issuer,
            "token_url": f"{srv.issuer}/token",
            "client_id": srv.users["oauth"]["public_client_id"],
            "username": srv.users["oauth"]["username"],
        },
        lambda srv: {"password": srv.users["oauth"]["password"]},
    ),
    FlowSpec(
        "oauth2-client-credentials",
        "oauth2-client-credentials",
        "oauth",
        "token",
        "token",
        "expires_in",
        "in",
        False,
        lambda srv: {
            "issuer": srv.issuer,
            "token_url": f"{srv.issuer}/token",
            "client_id": srv.users["oauth"]["confidential_client_id"],
        },
        lambda srv: {"client_secret": srv.users["oauth"]["client_secret"]},
    ),
)


def shipped_flows() -> list[FlowSpec]:
    """Every flow whose preset and flow module exist in this tree."""
    from trayauth.domain.errors import TrayauthError
    from trayauth.domain.presets import PresetCatalog
    from trayauth.flows import load_flow

    catalog = PresetCatalog()
    found = []
    for spec in FLOWS + OAUTH_FLOWS:
        try:
            load_flow(catalog.get(spec.preset).flow)
        except (TrayauthError, ImportError):
            continue
        found.append(spec)
    return found


# --------------------------------------------------------------------------------------------
# Places on the network that misbehave below HTTP


def closed_port() -> int:
    """A loopback port nothing listens on (connect: refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def blackhole() -> Iterator[int]:
    """A loopback port whose accept queue is full, so a new connection's SYN goes unanswered."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.05)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


# --------------------------------------------------------------------------------------------
# What "the user gets one clear line" means


def clear_line(text: str | None, secrets: list[str] = ()) -> str | None:  # type: ignore[assignment]
    """None when ``text`` is one clean line for a user; else what is wrong with it."""
    if not text:
        return "no message"
    if "\n" in text or "\r" in text:
        return f"more than one line: {text!r}"
    if "Traceback" in text or "Error(" in text or ("<" in text and "object at 0x" in text):
        return f"looks like a traceback or a repr: {text!r}"
    if len(text) > 400:
        return f"too long ({len(text)} characters)"
    leaked = [s for s in secrets if s and len(s) >= 4 and s in text]
    if leaked:
        return "carries a secret"
    return None


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in sorted(root.rglob("*")) if p.is_file()]
