"""Every preset end to end: the real CLI against the local provider server over real HTTP."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import jwt

from tests.helpers import Result, run_cli


def expire_now(name: str, *, by: float = 1.0) -> str:
    """Make the stored token look due, as if its lifetime had passed; return the old token."""
    from trayauth.core.store import Store

    store = Store.open()
    entry = store.vault.entry(name)
    assert entry.tokens is not None
    old = entry.tokens.access_token
    store.vault.update(
        name,
        lambda e: replace(
            e, tokens=replace(e.tokens, expires_at=time.time() - by, obtained_at=time.time() - 3600)
        ),
    )
    return old


def ok(result: Result) -> Result:
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    return result


def one_line_error(result: Result, code: int | None = None) -> str:
    assert result.code != 0
    if code is not None:
        assert result.code == code, result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    return lines[0]


def listed(name: str) -> dict[str, Any]:
    rows = json.loads(ok(run_cli("list", "--json")).out)
    return next(r for r in rows if r["name"] == name)


def test_sentiance_login_header_and_rotating_refresh(isolated: Path, provider: Any) -> None:
    user = provider.users["sentiance"]
    ok(
        run_cli(
            "add",
            "work",
            "sentiance",
            "--set",
            f"base_url={provider.base_url('sentiance')}",
            "--set",
            f"username={user['username']}",
        )
    )
    ok(run_cli("login", "work", "--secret-stdin", stdin=user["password"] + "\n"))
    header = ok(run_cli("header", "work")).out.strip()
    assert header.startswith("Authorization: Bearer ")
    token = header.removeprefix("Authorization: Bearer ")
    assert provider.check("sentiance", token)
    row = listed("work")
    assert row["state"] == "valid" and row["provider"] == "sentiance"
    assert row["expires_at"].endswith("Z") and isinstance(row["expires_in"], int)

    before = provider.count("sentiance", "auth/token")
    assert ok(run_cli("token", "work")).out.strip() == token
    assert provider.count("sentiance", "auth/token") == before, "a valid cached token costs no request"

    old = expire_now("work")
    new = ok(run_cli("token", "work")).out.strip()
    assert new != old and provider.check("sentiance", new)
    assert provider.count("sentiance", "auth/token") == before + 1


def test_wrong_password_is_one_clear_line(isolated: Path, provider: Any) -> None:
    user = provider.users["sentiance"]
    ok(
        run_cli(
            "add",
            "w",
            "sentiance",
            "--set",
            f"base_url={provider.base_url('sentiance')}",
            "--set",
            f"username={user['username']}",
        )
    )
    result = run_cli("login", "w", "--secret-stdin", stdin="not-the-password-123\n")
    line = one_line_error(result, 3)
    assert "wrong password" in line and "w" in line
    assert "not-the-password-123" not in result.err + result.out
    assert listed("w")["state"] == "logged_out"


def test_senseye_relogs_in_with_the_kept_password(isolated: Path, provider: Any) -> None:
    user = provider.users["senseye"]
    ok(
        run_cli(
            "add",
            "s",
            "senseye",
            "--set",
            f"base_url={provider.base_url('senseye')}",
            "--set",
            f"username={user['username']}",
        )
    )
    ok(run_cli("login", "s", "--secret-stdin", stdin=user["password"] + "\n"))
    first = ok(run_cli("token", "s")).out.strip()
    assert jwt.decode(first, options={"verify_signature": False})["exp"]
    old = expire_now("s")
    assert old == first
    second = ok(run_cli("token", "s")).out.strip()
    assert second != first and provider.check("senseye", second)


def test_sensos_trusts_expires_in(isolated: Path, provider: Any) -> None:
    u = provider.users["sensos"]
    ok(
        run_cli(
            "add",
            "app",
            "sensos",
            "--set",
            f"base_url={provider.base_url('sensos')}",
            "--set",
            f"tenant_id={u['tenant_id']}",
            "--set",
            f"application_id={u['application_id']}",
        )
    )
    ok(run_cli("login", "app", "--secret-stdin", stdin=u["application_secret"] + "\n"))
    token = ok(run_cli("token", "app")).out.strip()
    assert provider.check("sensos", token)
    row = listed("app")
    assert abs(row["expires_in"] - 36000) < 120


def test_sensos_wrong_secret(isolated: Path, provider: Any) -> None:
    u = provider.users["sensos"]
    ok(
        run_cli(
            "add",
            "app",
            "sensos",
            "--set",
            f"base_url={provider.base_url('sensos')}",
            "--set",
            f"tenant_id={u['tenant_id']}",
            "--set",
            f"application_id={u['application_id']}",
        )
    )
    line = one_line_error(run_cli("login", "app", "--secret-stdin", stdin="wrong-secret\n"), 3)
    assert "app" in line and "401" in line


def test_amino_expiry_comes_from_expires_at_timestamp_not_claims(isolated: Path, provider: Any) -> None:
    u = provider.users["amino"]
    ok(
        run_cli(
            "add",
            "tv",
            "amino",
            "--set",
            f"base_url={provider.base_url('amino')}",
            "--set",
            f"username={u['username']}",
        )
    )
    ok(run_cli("login", "tv", "--secret-stdin", stdin=u["password"] + "\n"))
    token = ok(run_cli("token", "tv")).out.strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    row = listed("tv")
    expires_at = time.mktime(time.strptime(row["expires_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert abs(expires_at - claims["exp"]) > 300, "the client must not take expiry from the JWT"
    expire_now("tv")
    new = ok(run_cli("token", "tv")).out.strip()
    assert new != token and provider.check("amino", new)
    ok(run_cli("logout", "tv"))
    assert listed("tv")["state"] == "logged_out"


def test_attentive_api_key_is_verified(isolated: Path, provider: Any) -> None:
    key = provider.users["attentive"]["api_key"]
    ok(run_cli("add", "att", "attentive", "--set", f"base_url={provider.base_url('attentive')}"))
    one_line_error(run_cli("login", "att", "--secret-stdin", stdin="bogus-key-000\n"), 3)
    ok(run_cli("login", "att", "--secret-stdin", stdin=key + "\n"))
    assert ok(run_cli("token", "att")).out.strip() == key
    row = listed("att")
    assert row["state"] == "valid" and row["expires_at"] is None


def test_pasted_tokens_jwt_paseto_public_and_local(isolated: Path, provider: Any) -> None:
    exp = int(time.time()) + 7200
    token = provider.mint_jwt({"sub": "sdk-user", "exp": exp})
    ok(run_cli("add", "sdk", "sentiance-token"))
    ok(run_cli("login", "sdk", "--secret-stdin", stdin=token + "\n"))
    assert abs(listed("sdk")["expires_in"] - 7200) < 60

    public = provider.mint_paseto(
        {"sub": "machine", "exp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(exp))}
    )
    ok(run_cli("add", "m", "senseye-machine"))
    ok(run_cli("login", "m", "--secret-stdin", stdin=public + "\n"))
    assert abs(listed("m")["expires_in"] - 7200) < 60
    info = json.loads(ok(run_cli("inspect", "m", "--json")).out)
    assert info["kind"] == "paseto-v4-public" and info["claims"]["sub"] == "machine"

    local = provider.mint_paseto({"sub": "x"}, local=True)
    ok(run_cli("add", "m2", "senseye-machine"))
    ok(run_cli("login", "m2", "--secret-stdin", stdin=local + "\n"))
    assert listed("m2")["expires_at"] is None
    assert json.loads(ok(run_cli("inspect", "m2", "--json")).out)["kind"] == "paseto-v4-local"


def test_expired_pasted_jwt_is_refused(isolated: Path, provider: Any) -> None:
    ok(run_cli("add", "b", "bearer"))
    stale = provider.mint_jwt({"sub": "x", "exp": int(time.time()) - 10})
    line = one_line_error(run_cli("login", "b", "--secret-stdin", stdin=stale + "\n"), 3)
    assert "expired" in line


def test_bearer_without_exp_never_expires(isolated: Path) -> None:
    ok(run_cli("add", "b", "bearer"))
    ok(run_cli("login", "b", "--secret-stdin", stdin="opaque-token-value\n"))
    assert ok(run_cli("header", "b")).out.strip() == "Authorization: Bearer opaque-token-value"
    assert listed("b")["expires_in"] is None
