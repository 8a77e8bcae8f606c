"""``trayauth demo``: the tray against a local provider server, with accounts that log in by
themselves and expire within minutes, so a newcomer sees countdowns, background renewal,
warnings and a browser sign-in without a real account anywhere.

Every account here talks only to the ProviderServer on 127.0.0.1; its credentials are the
server's published demo ones (``srv.users``), fake by design.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trayauth.domain.errors import AccountExists, TrayauthError
from trayauth.domain.model import Account
from trayauth.domain.prompts import RecordingAsker
from trayauth.ui.state import wording

if TYPE_CHECKING:
    from trayauth.demo import ProviderServer
    from trayauth.services.broker import Broker

# Short lives so renewal is visible within minutes (seconds).
LIFETIMES = {"sentiance": 180, "senseye": 150, "sensos": 240, "amino": 120, "oauth": 300}
BEARER_LIFETIME = 210  # a pasted token: it cannot renew, so the tray warns and then says "expired"
NOTIFY_LEAD = 90


@dataclass
class DemoAccount:
    name: str
    preset: str
    settings: dict[str, str]
    secrets: dict[str, str]
    browser: bool = False  # logs in through the (simulated) browser


@dataclass
class Demo:
    """The demo's accounts and what happened when logging them in."""

    server: ProviderServer
    accounts: list[DemoAccount] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        return f"Demo: accounts on a local provider at {self.server.url}"


def configure_server(srv: ProviderServer) -> None:
    for vendor, seconds in LIFETIMES.items():
        srv.set_lifetime(vendor, seconds)


def demo_accounts(srv: ProviderServer, now: float) -> list[DemoAccount]:
    users: dict[str, Any] = srv.users
    sentiance, senseye, sensos = users["sentiance"], users["senseye"], users["sensos"]
    amino, oauth = users["amino"], users["oauth"]
    bearer = srv.mint_jwt({"sub": "demo-bearer", "iat": int(now), "exp": int(now + BEARER_LIFETIME)})
    return [
        DemoAccount(
            "sentiance-demo",
            "sentiance",
            {"base_url": srv.base_url("sentiance"), "username": sentiance["username"]},
            {"password": sentiance["password"]},
        ),
        DemoAccount(
            "senseye-demo",
            "senseye",
            {"base_url": srv.base_url("senseye"), "username": senseye["username"]},
            {"password": senseye["password"]},
        ),
        DemoAccount(
            "sensos-demo",
            "sensos",
            {
                "base_url": srv.base_url("sensos"),
                "tenant_id": sensos["tenant_id"],
                "application_id": sensos["application_id"],
            },
            {"application_secret": sensos["application_secret"]},
        ),
        DemoAccount(
            "amino-demo",
            "amino",
            {"base_url": srv.base_url("amino"), "username": amino["username"]},
            {"password": amino["password"]},
        ),
        DemoAccount("bearer-demo", "bearer", {"base_url": srv.base_url("oauth")}, {"token": bearer}),
        DemoAccount(
            "oauth2-demo",
            "oauth2",
            {
                "issuer": srv.issuer,
                "client_id": oauth["public_client_id"],
                "scopes": "openid offline_access api",
            },
            {},
            browser=True,
        ),
    ]


def play_browser(url: str) -> bool:
    """Stand in for the browser at start-up: the demo server approves at once and redirects to
    the loopback, so fetching the URL (following the redirect) completes the sign-in. A thread,
    because the flow calls this from the event loop and then waits for that very redirect."""

    def fetch() -> None:
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 (loopback demo URL)
                resp.read()
        except OSError:
            pass  # the flow times out and reports it

    threading.Thread(target=fetch, name="demo-browser", daemon=True).start()
    return True


def add_accounts(broker: Broker, demo: Demo) -> list[DemoAccount]:
    """Write the demo accounts (fit to the presets installed); re-point existing ones at this
    run's server, whose port changes each time."""
    ready: list[DemoAccount] = []
    for item in demo.accounts:
        try:
            preset = broker.presets.get(item.preset)
        except TrayauthError:
            demo.problems.append(f"{item.name}: preset {item.preset!r} is not installed; skipped")
            continue
        known = {f.key for f in preset.fields}
        settings = {k: v for k, v in item.settings.items() if k in known}
        item.secrets = {k: v for k, v in item.secrets.items() if k in known}
        try:
            broker.add(Account(item.name, item.preset, settings))
        except AccountExists:
            broker.update_settings(item.name, settings)
        except TrayauthError as exc:
            demo.problems.append(wording.text(exc))
            continue
        ready.append(item)
    if ready and broker.app_settings().default is None:
        broker.update_app(default=ready[0].name, notify_lead_seconds=NOTIFY_LEAD)
    return ready


async def log_in(
    broker: Broker, accounts: list[DemoAccount], open_browser: Callable[[str], bool]
) -> list[str]:
    """Log every demo account in; returns the problems (one line each), never raises."""
    problems: list[str] = []
    for item in accounts:
        try:
            if item.browser:  # nobody watches this sign-in: the "browser" is played, not shown
                await broker.login(item.name, item.secrets, asker=RecordingAsker(), open_browser=open_browser)
            else:
                await broker.login(item.name, item.secrets)
        except TrayauthError as exc:
            problems.append(wording.text(exc.about(item.name)))
    return problems


def prepare(broker: Broker, srv: ProviderServer) -> tuple[Demo, list[DemoAccount]]:
    configure_server(srv)
    demo = Demo(srv, demo_accounts(srv, time.time()))
    return demo, add_accounts(broker, demo)
