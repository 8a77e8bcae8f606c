"""Every preset end to end: the real CLI against the local provider server over real HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt

from tests.support.cli import Result, add_account, expire_now, login, ok, run_cli, sentiance_account


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
    sentiance_account(provider, "work")
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
    add_account("w", "sentiance", base_url=provider.base_url("sentiance"), username=user["username"])
    result = login("w", "not-the-password-123")
    line = one_line_error(result, 3)
    assert "wrong password" in line and "w" in line
    assert "not-the-password-123" not in result.err + result.out
    assert listed("w")["state"] == "logged_out"


def test_senseye_relogs_in_with_the_kept_password(isolated: Path, provider: Any) -> None:
    user = provider.users["senseye"]
    add_account("s", "senseye", base_url=provider.base_url("senseye"), username=user["username"])
    ok(login("s", user["password"]))
    first = ok(run_cli("token", "s")).out.strip()
    assert jwt.decode(first, options={"verify_signature": False})["exp"]
    old = expire_now("s")
    assert old == first
    second = ok(run_cli("token", "s")).out.strip()
    assert second != first and provider.check("senseye", second)


def test_sensos_trusts_expires_in(isolated: Path, provider: Any) -> None:
    u = provider.users["sensos"]
    add_account(
        "app",
        "sensos",
        base_url=provider.base_url("sensos"),
        tenant_id=u["tenant_id"],
        application_id=u["application_id"],
    )
    ok(login("app", u["application_secret"]))
    token = ok(run_cli("token", "app")).out.strip()
    assert provider.check("sensos", token)
    row = listed("app")
    assert abs(row["expires_in"] - 36000) < 120


def test_sensos_wrong_secret(isolated: Path, provider: Any) -> None:
    u = provider.users["sensos"]
    add_account(
        "app",
        "sensos",
        base_url=provider.base_url("sensos"),
        tenant_id=u["tenant_id"],
        application_id=u["application_id"],
    )
    line = one_line_error(login("app", "wrong-secret"), 3)
    assert "app" in line and "401" in line


def test_amino_expiry_comes_from_expires_at_timestamp_not_claims(isolated: Path, provider: Any) -> None:
    u = provider.users["amino"]
    add_account("tv", "amino", base_url=provider.base_url("amino"), username=u["username"])
    ok(login("tv", u["password"]))
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
    one_line_error(login("att", "bogus-key-000"), 3)
    ok(login("att", key))
    assert ok(run_cli("token", "att")).out.strip() == key
    row = listed("att")
    assert row["state"] == "valid" and row["expires_at"] is None


def test_pasted_tokens_jwt_paseto_public_and_local(isolated: Path, provider: Any) -> None:
    exp = int(time.time()) + 7200
    token = provider.mint_jwt({"sub": "sdk-user", "exp": exp})
    add_account("sdk", "sentiance-token")
    ok(login("sdk", token))
    assert abs(listed("sdk")["expires_in"] - 7200) < 60

    public = provider.mint_paseto(
        {"sub": "machine", "exp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(exp))}
    )
    add_account("m", "senseye-machine")
    ok(login("m", public))
    assert abs(listed("m")["expires_in"] - 7200) < 60
    info = json.loads(ok(run_cli("inspect", "m", "--json")).out)
    assert info["kind"] == "paseto-v4-public" and info["claims"]["sub"] == "machine"

    local = provider.mint_paseto({"sub": "x"}, local=True)
    add_account("m2", "senseye-machine")
    ok(login("m2", local))
    assert listed("m2")["expires_at"] is None
    assert json.loads(ok(run_cli("inspect", "m2", "--json")).out)["kind"] == "paseto-v4-local"


def test_expired_pasted_jwt_is_refused(isolated: Path, provider: Any) -> None:
    add_account("b", "bearer")
    stale = provider.mint_jwt({"sub": "x", "exp": int(time.time()) - 10})
    line = one_line_error(run_cli("login", "b", "--secret-stdin", stdin=stale + "\n"), 3)
    assert "expired" in line


def test_bearer_without_exp_never_expires(isolated: Path) -> None:
    add_account("b", "bearer")
    ok(login("b", "opaque-token-value"))
    assert ok(run_cli("header", "b")).out.strip() == "Authorization: Bearer opaque-token-value"
    assert listed("b")["expires_in"] is None
