"""The vault key in a real keyring, in no keyring at all, and a 16 KB JWT through both.

- A real Secret Service: gnome-keyring on a private D-Bus session (``dbus-run-session``), as a
  Linux desktop has it. The CLI, in fresh processes, logs in with a 16 KB JWT; the key lands in
  the Secret Service as one small item (service ``trayauth``, user ``vault:<id>``), no key file
  is written, and ``status`` names the keyring. Skipped only off CI when the tools are missing.
- No keyring (``keyring.backends.fail.Keyring``): login still works, and ``login``, ``list`` and
  ``status`` say the key is in a 0600 key file and why.
- The 16 KB JWT through the file keyring the other tests use: the token printed is the one pasted
  and ``inspect`` reads its ``exp``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pty
import secrets
import select
import shutil
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import REPO

TIMEOUT = 60
BIG = 16 * 1024


def big_jwt(provider: Any, exp: int) -> str:
    """A JWT of at least 16 KB the provider signed (its claims padded), valid until ``exp``."""
    claims: dict[str, Any] = {"sub": "big-claims-user", "exp": exp, "pad": ""}
    short = len(provider.mint_jwt(claims))
    claims["pad"] = secrets.token_urlsafe(((BIG - short) * 3 + 3) // 4)[: ((BIG - short) * 3 + 3) // 4]
    token: str = provider.mint_jwt(claims)
    assert BIG <= len(token) < BIG + 64, len(token)
    return token


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trayauth", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=TIMEOUT,
        check=False,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, (proc.args, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --------------------------------------------------------------------------------------------
# A real Secret Service


# Runs inside `dbus-run-session`: starts gnome-keyring unlocked on that private bus, then drives
# the CLI in fresh processes and looks into the Secret Service itself. Prints one JSON report.
SESSION = r"""
import json, os, subprocess, sys, time

job = json.load(sys.stdin)
report = {}
daemon = subprocess.run(
    ["gnome-keyring-daemon", "--unlock", "--components=secrets"],
    input=b"login-password-of-the-test-session",
    capture_output=True,
    timeout=30,
)
report["daemon"] = [daemon.returncode, daemon.stderr.decode(errors="replace")[-400:]]
for line in daemon.stdout.decode().splitlines():
    name, sep, value = line.partition("=")
    if sep:
        os.environ[name] = value
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.SecretService.Keyring"

import secretstorage

deadline = time.monotonic() + 20
while True:
    try:
        bus = secretstorage.dbus_init()
        collection = secretstorage.get_default_collection(bus)
        if not collection.is_locked():
            break
        problem = "the default collection is locked"
    except Exception as exc:  # the daemon may still be claiming its bus name
        problem = repr(exc)
    if time.monotonic() > deadline:
        print(json.dumps({"error": problem, **report}))
        sys.exit(0)
    time.sleep(0.1)


def cli(*args, stdin=""):
    proc = subprocess.run(
        [sys.executable, "-m", "trayauth", *args],
        input=stdin, capture_output=True, text=True, env=dict(os.environ), timeout=60,
    )
    return {"code": proc.returncode, "out": proc.stdout, "err": proc.stderr}


report["add"] = cli("add", "big", "bearer", "--set", "base_url=" + job["base_url"])
report["login"] = cli("login", "big", "--secret-stdin", stdin=job["token"] + "\n")
report["token"] = cli("token", "big")
report["inspect"] = cli("inspect", "big", "--json")
report["list"] = cli("list")
report["status"] = cli("status")

import keyring

vault_id = json.loads(open(job["vault"]).read())["vault_id"]
report["vault_id"] = vault_id
report["backend"] = type(keyring.get_keyring()).__module__
report["key"] = keyring.get_password("trayauth", "vault:" + vault_id)
report["items"] = [
    {"attributes": item.get_attributes(), "size": len(item.get_secret())}
    for item in collection.search_items({"service": "trayauth"})
]
token = job["token"].encode()
report["token_in_keyring"] = any(token in item.get_secret() for item in collection.get_all_items())
print(json.dumps(report))
"""


def secret_service_tools() -> None:
    """Skip (off CI) or fail (on CI, where .ci/run installs them) when the tools are missing."""
    missing = [tool for tool in ("dbus-run-session", "gnome-keyring-daemon") if shutil.which(tool) is None]
    if importlib.util.find_spec("secretstorage") is None:
        missing.append("the secretstorage module")
    if not missing:
        return
    reason = f"no real Secret Service here: {', '.join(missing)} missing (install dbus and gnome-keyring)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run this test")
    pytest.skip(reason)


@pytest.mark.secretservice
def test_the_key_lives_in_a_real_secret_service(isolated: Path, provider: Any, tmp_path: Path) -> None:
    secret_service_tools()
    exp = int(time.time()) + 3600
    token = big_jwt(provider, exp)
    runtime = tmp_path / "session-run"
    runtime.mkdir(mode=0o700)
    home = tmp_path / "session-home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHON_KEYRING_BACKEND", "DBUS_SESSION_BUS_ADDRESS", "TRAYAUTH_KEY_STORAGE")
        and not key.startswith("GNOME_KEYRING")
    }
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),  # gnome-keyring keeps its keyrings under here
        XDG_RUNTIME_DIR=str(runtime),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
    )
    job = {"token": token, "base_url": provider.base_url("oauth"), "vault": str(isolated / "vault.json")}
    proc = subprocess.run(
        ["dbus-run-session", "--", sys.executable, "-c", SESSION],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "error" not in report, report
    for step in ("add", "login", "token", "inspect", "list", "status"):
        assert report[step]["code"] == 0, (step, report[step]["err"], report["daemon"])
        assert "Traceback" not in report[step]["err"]

    # The token went in and came out of a fresh process whole; the provider still takes it.
    assert report["token"]["out"].strip() == token
    assert provider.check("oauth", report["token"]["out"].strip())
    assert json.loads(report["inspect"]["out"])["expires_at"] == iso(exp)

    # The key is one Secret Service item of 44 bytes; the token itself is in no keyring item.
    assert report["backend"] == "keyring.backends.SecretService"
    key = report["key"]
    assert isinstance(key, str) and len(key) == 44
    assert len(report["items"]) == 1, report["items"]
    item = report["items"][0]
    assert item["attributes"]["service"] == "trayauth"
    assert item["attributes"]["username"] == f"vault:{report['vault_id']}"
    assert item["size"] == 44
    assert report["token_in_keyring"] is False

    # No key file, no fallback note; status names the keyring.
    assert not (isolated / "vault.key").exists()
    assert "note:" not in report["login"]["err"] + report["list"]["err"]
    assert "key in system keyring (SecretService Keyring)" in report["status"]["out"], report["status"]["out"]

    # And that key (only it) opens the vault, which holds the token.
    from cryptography.fernet import Fernet

    vault = json.loads((isolated / "vault.json").read_text())
    assert vault["vault_id"] == report["vault_id"]
    plain = json.loads(Fernet(key.encode()).decrypt(vault["data"].encode()))
    assert plain["accounts"]["big"]["tokens"]["access_token"] == token
    assert token not in (isolated / "vault.json").read_text()


# --------------------------------------------------------------------------------------------
# No keyring at all


def test_without_a_keyring_the_key_file_is_used_and_said(isolated: Path, provider: Any) -> None:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    key_file = isolated / "vault.key"
    token = big_jwt(provider, int(time.time()) + 3600)
    ok(cli(env, "add", "big", "bearer"))
    login = ok(cli(env, "login", "big", "--secret-stdin", stdin=token + "\n"))
    said = f"note: secrets are encrypted with a key kept in key file {key_file} (no system keyring:"
    assert said in login.stderr, login.stderr
    assert mode(key_file) == 0o600
    body = json.loads(key_file.read_text())
    assert body["vault_id"] == json.loads((isolated / "vault.json").read_text())["vault_id"]
    assert len(body["key"]) == 44 and body["reason"].startswith("no system keyring")
    assert token not in key_file.read_text()

    assert ok(cli(env, "token", "big")).stdout.strip() == token  # still works, in a fresh process
    listed = ok(cli(env, "list"))
    assert said in listed.stderr, listed.stderr
    assert "big" in listed.stdout and "valid" in listed.stdout
    status = ok(cli(env, "status"))
    assert f"key in key file {key_file} (no system keyring: keyring found no usable backend)" in status.stdout
    assert mode(key_file) == 0o600  # still, after every command


# --------------------------------------------------------------------------------------------
# The 16 KB JWT through the tests' file keyring


def test_a_16_kb_jwt_stores_and_loads(isolated: Path, provider: Any) -> None:
    env = dict(os.environ)
    exp = int(time.time()) + 7200
    token = big_jwt(provider, exp)
    ok(cli(env, "add", "big", "bearer"))
    login = ok(cli(env, "login", "big", "--secret-stdin", stdin=token + "\n"))
    assert "note:" not in login.stderr  # the key went to the keyring: no fallback
    assert not (isolated / "vault.key").exists()
    assert ok(cli(env, "token", "big")).stdout == token + "\n"
    assert ok(cli(env, "header", "big")).stdout == f"Authorization: Bearer {token}\n"
    info = json.loads(ok(cli(env, "inspect", "big", "--json")).stdout)
    assert info["kind"] == "jwt" and info["expires_at"] == iso(exp)
    assert len(info["claims"]["pad"]) > BIG * 0.7
    row = json.loads(ok(cli(env, "list", "--json")).stdout)[0]
    assert row["state"] == "valid" and abs(row["expires_in"] - 7200) < 120
    assert provider.check("oauth", token)


def test_a_16_kb_jwt_pasted_at_the_hidden_prompt(isolated: Path, provider: Any) -> None:
    """The terminal, not --secret-stdin: a canonical-mode read (getpass) keeps 4095 bytes of it."""
    env = dict(os.environ)
    exp = int(time.time()) + 3600
    token = big_jwt(provider, exp)
    ok(cli(env, "add", "big", "bearer"))
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "trayauth", "login", "big"],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
        start_new_session=True,  # no controlling terminal: the pty on stdin is the only one
    )
    os.close(slave)
    try:
        assert proc.stderr is not None
        prompt = b""
        deadline = time.monotonic() + 30
        while b"Token for big: " not in prompt:
            assert time.monotonic() < deadline and proc.poll() is None, prompt
            if select.select([proc.stderr], [], [], 0.1)[0]:
                prompt += os.read(proc.stderr.fileno(), 4096)
        time.sleep(0.2)  # the prompt is written just before the terminal leaves canonical mode
        typed = ("typo\x7f\x7f\x7f\x7f" + token + "\r").encode()  # a correction, a paste, Enter
        for start in range(0, len(typed), 1024):
            os.write(master, typed[start : start + 1024])
        out, err = proc.communicate(timeout=TIMEOUT)
        echoed = b""
        while select.select([master], [], [], 0.05)[0]:
            try:
                echoed += os.read(master, 65536)
            except OSError:  # EIO: the other end is closed
                break
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=TIMEOUT)
        os.close(master)
    assert proc.returncode == 0, err
    assert token[:100].encode() not in echoed + out + err, "the secret was echoed"
    assert ok(cli(env, "token", "big")).stdout == token + "\n"
    assert json.loads(ok(cli(env, "inspect", "big", "--json")).stdout)["expires_at"] == iso(exp)
