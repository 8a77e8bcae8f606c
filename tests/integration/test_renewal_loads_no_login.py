"""Renewing and logging out load no login: PyJWT and authlib stay out of a long-running tray.

What a process imports it keeps, so the tray's lasting size is what its renewals load. A renewal
by refresh token needs the token endpoint only; the ID-token check (PyJWT, which brings
cryptography's asymmetric key algorithms) and PKCE (authlib) belong to logins. A fresh
interpreter opens the services on real accounts of the local provider, renews an OAuth account
and a steps account, logs one out, and reports what it loaded; then it logs in, which must load
the ID-token check (so the probe sees those modules when they do load).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.support.probe import report, run_probe
from trayauth.demo import ProviderServer
from trayauth.domain.model import Account
from trayauth.services.broker import Broker

PUBLIC = "trayauth-public"
LOGIN_ONLY = (
    "jwt",
    "authlib",
    "cryptography.hazmat.primitives.asymmetric.ec",
    "trayauth.flows.idtoken",
    "trayauth.protocol.pkce",
    "trayauth.flows.authorization_code",
    "trayauth.flows.oauth_password",
    "trayauth.net.loopback",
)

PROBE = """
import asyncio, json, sys
from pathlib import Path
from trayauth.services.broker import Broker

HEAVY = json.loads(sys.argv[2])
seen = {}

def loaded():
    return sorted(m for m in HEAVY if m in sys.modules)

async def main():
    broker = Broker.open(Path(sys.argv[1]))
    try:
        seen["opened"] = loaded()
        await broker.refresh("oa")
        await broker.refresh("steps")
        seen["renewed"] = loaded()
        await broker.logout("steps")
        await broker.logout("oa2")
        seen["logged out"] = loaded()
        await broker.login("oa", {"password": "demo-password"})
        seen["logged in"] = loaded()
    finally:
        await broker.aclose()

asyncio.run(main())
print(json.dumps(seen))
"""


@pytest.mark.usefixtures("isolated")
def test_renewals_and_logouts_load_no_login_code(isolated: Path, srv: ProviderServer) -> None:
    broker = Broker.open(isolated)

    async def set_up() -> None:
        try:
            oauth = {"token_url": f"{srv.issuer}/token", "client_id": PUBLIC, "username": "demo"}
            for name in ("oa", "oa2"):
                broker.add(Account(name, "oauth2-password", oauth))
                assert (await broker.login(name, {"password": "demo-password"})).refresh_token
            user = srv.users["sentiance"]
            steps = {"base_url": srv.base_url("sentiance"), "username": user["username"]}
            broker.add(Account("steps", "sentiance", steps))
            await broker.login("steps", {"password": user["password"]})
        finally:
            await broker.aclose()

    asyncio.run(set_up())
    refreshes = (srv.refreshes("oauth"), srv.refreshes("sentiance"))
    seen = report(run_probe(PROBE, str(isolated), json.dumps(LOGIN_ONLY)).stdout)
    assert (srv.refreshes("oauth"), srv.refreshes("sentiance")) == (refreshes[0] + 1, refreshes[1] + 1)
    assert seen["opened"] == []
    assert seen["renewed"] == []
    assert seen["logged out"] == []
    # The login does load its part and the ID-token check: the probe would see them.
    assert {"jwt", "trayauth.flows.idtoken", "trayauth.flows.oauth_password"} <= set(seen["logged in"])
