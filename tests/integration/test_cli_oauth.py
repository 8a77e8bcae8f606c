"""OAuth through the real CLI: the URL on stderr, a test playing the browser, the loopback redirect."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.cli import run_cli, spawn_cli


def read_url(proc: subprocess.Popen[str], deadline: float = 20.0) -> str:
    assert proc.stderr is not None
    end = time.monotonic() + deadline
    seen = []
    while time.monotonic() < end:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(r"(https?://\S+)", line)
        if match and "redirect_uri=" in match.group(1):
            return match.group(1)
    raise AssertionError(f"no authorization URL on stderr: {seen}")


def play_browser(url: str) -> httpx.Response:
    """Follow the provider's 302 to the loopback, as a browser would."""
    return httpx.get(url, follow_redirects=True, timeout=10)


def test_oauth2_login_through_the_cli(isolated: Path, provider: Any) -> None:
    users = provider.users["oauth"]
    assert (
        run_cli(
            "add",
            "idp",
            "oauth2",
            "--set",
            f"issuer={provider.issuer}",
            "--set",
            f"client_id={users['public_client_id']}",
            "--set",
            "scopes=openid offline_access",
        ).code
        == 0
    )
    proc = spawn_cli("login", "idp", "--no-browser")
    url = read_url(proc)
    assert "code_challenge_method=S256" in url and "state=" in url
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in url
    page = play_browser(url)
    assert page.status_code == 200
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    token = run_cli("token", "idp").out.strip()
    assert (
        httpx.get(f"{provider.issuer}/whoami", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    assert token not in page.text
    rows = json.loads(run_cli("list", "--json").out)
    assert rows[0]["state"] == "valid" and rows[0]["renewable"] is True


def test_attentive_oauth_login_never_expires(isolated: Path, provider: Any) -> None:
    att = provider.users["attentive"]
    assert (
        run_cli(
            "add",
            "shop",
            "attentive-oauth",
            "--set",
            f"base_url={provider.base_url('attentive')}",
            "--set",
            f"authorize_url={provider.base_url('attentive')}/ui/integrations/oauth-install",
            "--set",
            f"client_id={att['client_id']}",
        ).code
        == 0
    )
    proc = spawn_cli("login", "shop", "--no-browser", "--secret-stdin")
    assert proc.stdin is not None
    proc.stdin.write(att["client_secret"] + "\n")
    proc.stdin.close()
    proc.stdin = None  # communicate() must not flush a closed pipe
    url = read_url(proc)
    play_browser(url)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    rows = json.loads(run_cli("list", "--json").out)
    assert rows[0]["state"] == "valid" and rows[0]["expires_at"] is None
    token = run_cli("token", "shop").out.strip()
    assert provider.check("attentive", token)
