"""Renewal's rules through the CLI against the provider server, each at the point it protects.

A mutation run showed these could break with no test noticing: a rejected refresh token kept
(and sent again), a refresh token wrongly treated as spent after a request that never left, a
pasted token refused while it is still valid, and the account bookkeeping (remove, default).
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import add_account, expire_now, login, ok, run_cli, sentiance_account
from trayauth.storage.store import Store


def _stored(name: str) -> Any:
    return Store.open().vault.entry(name)


def test_a_rejected_refresh_token_is_dropped_and_never_sent_again(
    isolated: Path, fresh_provider: Any
) -> None:
    srv = fresh_provider
    sentiance_account(srv, "s1")
    old = expire_now("s1", by=-30)  # inside the margin, still valid for 30 s
    srv.inject("sentiance", "auth/token", {"status": 400, "body": {"error": "invalid_grant"}})
    before = srv.count("sentiance", "auth/token")
    result = run_cli("token", "s1")
    # Still valid: the old token is handed out, with the reason on stderr.
    assert result.code == 0 and result.out.strip() == old
    assert srv.count("sentiance", "auth/token") == before + 1
    entry = _stored("s1")
    assert entry.tokens.refresh_token is None
    assert entry.tokens.access_token == old
    assert entry.refresh_in_flight is False
    # The next call has no refresh token to send: no request at all, and the token still serves.
    assert run_cli("token", "s1").out.strip() == old
    assert srv.count("sentiance", "auth/token") == before + 1
    expire_now("s1")
    dead = run_cli("token", "s1")
    assert dead.code == 3 and "login" in dead.err
    assert srv.count("sentiance", "auth/token") == before + 1
    assert srv.revoked_families("sentiance") == 0


def test_a_refresh_that_never_left_keeps_the_rotating_token_usable(
    isolated: Path, fresh_provider: Any
) -> None:
    """A 429 asking for an hour is not waited out, and nothing was sent: the token is not spent."""
    srv = fresh_provider
    sentiance_account(srv, "s1")
    expire_now("s1")
    srv.inject("sentiance", "auth/token", {"status": 429, "headers": {"Retry-After": "3600"}})
    failed = run_cli("token", "s1")
    assert failed.code == 4 and "rate limit" in failed.err
    assert _stored("s1").refresh_in_flight is False
    renewed = ok(run_cli("token", "s1"))
    assert renewed.out.strip() and srv.refreshes("sentiance") == 1
    assert srv.revoked_families("sentiance") == 0


def _jwt(exp: float) -> str:
    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'sub': 'me', 'exp': int(exp)})}.c2ln"


def test_a_pasted_token_is_served_until_it_expires_then_refused(isolated: Path) -> None:
    token = _jwt(time.time() + 40)  # inside the 60 s margin, yet valid: nothing can renew it
    add_account("p", "bearer")
    ok(login("p", token))
    served = ok(run_cli("token", "p"))
    assert served.out.strip() == token
    expire_now("p")
    refused = run_cli("token", "p")
    assert refused.code == 3
    assert "expired" in refused.err and "cannot renew itself" in refused.err
    assert token not in refused.err


def test_remove_forgets_the_account_and_its_secrets(isolated: Path, provider: Any) -> None:
    sentiance_account(provider, "s1")
    sentiance_account(provider, "s2")
    ok(run_cli("remove", "s1"))
    names = [a["name"] for a in json.loads(ok(run_cli("list", "--json")).out)]
    assert names == ["s2"]
    store = Store.open()
    assert "s1" not in store.vault.read_all()
    assert "s2" in store.vault.read_all()
    gone = run_cli("token", "s1")
    assert gone.code != 0 and "s1" in gone.err
    again = run_cli("remove", "s1")
    assert again.code != 0 and "s1" in again.err


def test_the_default_account_is_the_chosen_one_else_the_last_used_else_the_first(
    isolated: Path, provider: Any
) -> None:
    from trayauth.services.broker import Broker

    assert Broker.open().default_account() is None
    for name in ("a", "b", "c"):
        sentiance_account(provider, name)
    ok(run_cli("default", "b"))
    listed = {a["name"]: a for a in json.loads(ok(run_cli("list", "--json")).out)}
    assert [n for n, a in listed.items() if a["default"]] == ["b"]
    assert Broker.open().default_account() == "b"
    ok(run_cli("remove", "b"))
    # No explicit default left: the most recently used wins.
    Store.open().touch("a", now=time.time() + 3600)
    assert Broker.open().default_account() == "a"
    Store.open().touch("c", now=time.time() + 7200)
    assert Broker.open().default_account() == "c"
    unknown = run_cli("default", "nope")
    assert unknown.code != 0 and "nope" in unknown.err


@pytest.mark.parametrize("name", ["x"])
def test_default_of_an_unknown_account_changes_nothing(isolated: Path, provider: Any, name: str) -> None:
    sentiance_account(provider, name)
    ok(run_cli("default", name))
    assert run_cli("default", "missing").code != 0
    listed = json.loads(ok(run_cli("list", "--json")).out)
    assert [a["name"] for a in listed if a["default"]] == [name]
