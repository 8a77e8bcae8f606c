"""The secret scan: every flow runs for real, then every place a secret could leak to is searched.

Every preset logs in through the real CLI (a separate process, secrets on stdin) against the
provider server; the OAuth ones wait on their loopback while the test reads their argv and
environment, then plays the browser. Renewals, refreshes and failing commands (wrong password,
a refresh token the provider does not know, an expired pasted token) run too, some in-process
with every Python logger at DEBUG, and a tray process serves tokens over its socket.

Then each secret the user gave (passwords, client secrets, API keys, pasted tokens, wrong
passwords too) and each token, refresh token, code and ID token the provider issued (read from
its own books), plus the vault key, is searched for - raw, base64 (any alignment), URL- and
JSON-escaped - in every file under the config, data, runtime and home directories, every
stdout and stderr (except the token a ``token``/``header`` command is asked to print), every
log record, the argv of every process launched, and ``/proc/<pid>/{environ,cmdline}`` of the
long-running ones. Zero hits outside the vault; the vault itself holds none of them in the clear
and is useless without its key; every file is 0600 and every directory trayauth makes is 0700.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import secrets
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

import httpx
import keyring.core
import pytest

from tests.hardening.cases import Figures, files_under
from tests.support.cli import REPO, Result, run_cli
from trayauth.cli.wording import line as cli_line
from trayauth.demo import ProviderServer
from trayauth.domain.errors import VaultError
from trayauth.domain.model import TokenSet
from trayauth.storage.keystore import SERVICE, keyring_username, new_key
from trayauth.storage.store import Store
from trayauth.storage.vault import VaultEntry

T = TypeVar("T")
TIMEOUT = 60
MIN_SECRET = 12  # every secret here is random and long: a short one could hit by chance


# --------------------------------------------------------------------------------------------
# What is searched for, and how


def encodings(secret: str) -> set[bytes]:
    """The forms a secret could leak in: raw, URL- and JSON-escaped, base64 at any alignment."""
    raw = secret.encode()
    found = {
        raw,
        quote(secret, safe="").encode(),
        quote_plus(secret).encode(),
        json.dumps(secret)[1:-1].encode(),
    }
    to_urlsafe = bytes.maketrans(b"+/", b"-_")
    for shift in range(3):  # the characters that depend on the secret's bytes only
        enc = base64.b64encode(b"\0" * shift + raw)
        core = enc[4 if shift else 0 : (shift + len(raw)) // 3 * 4]
        if len(core) >= MIN_SECRET:
            found |= {core, core.translate(to_urlsafe)}
    return found


@dataclass
class Place:
    name: str
    data: bytes
    may_hold_key: bool = False  # the keyring's own file: the vault key lives there, nothing else


@dataclass
class Scan:
    """Every secret seen and every place something was written or shown."""

    secrets: dict[str, str] = field(default_factory=dict)  # value -> what it is
    places: list[Place] = field(default_factory=list)
    vault_key: str | None = None

    def secret(self, what: str, value: str | None) -> None:
        if value:
            assert len(value) >= MIN_SECRET, f"{what} is too short to search for: {value!r}"
            self.secrets.setdefault(value, what)

    def place(self, name: str, data: str | bytes, *, may_hold_key: bool = False) -> None:
        self.places.append(Place(name, data.encode() if isinstance(data, str) else data, may_hold_key))

    def hits(self, places: list[Place] | None = None) -> list[str]:
        """Each hit, as "<secret> in <place>"; the vault key counts everywhere but in the keyring."""
        wanted = [(what, encodings(value)) for value, what in self.secrets.items()]
        key = ("the vault key", encodings(self.vault_key)) if self.vault_key else None
        found = []
        for place in self.places if places is None else places:
            for what, forms in wanted + ([key] if key and not place.may_hold_key else []):
                if any(form in place.data for form in forms):
                    found.append(f"{what} in {place.name}")
        return found


# --------------------------------------------------------------------------------------------
# The CLI, as a separate process


class Cli:
    """Runs ``trayauth`` as users do; records argv, stdout and stderr as places to scan.

    umask 000: files must be 0600 because trayauth says so, not because the umask was kind.
    """

    def __init__(self, scan: Scan, env: dict[str, str]) -> None:
        self.scan = scan
        self.env = env
        self.launched: list[list[str]] = []

    def argv(self, *args: str) -> list[str]:
        argv = [sys.executable, "-m", "trayauth", *args]
        self.launched.append(argv)
        self.scan.place(f"argv of trayauth {' '.join(args[:2])}", "\0".join(argv))
        return argv

    def run(self, *args: str, stdin: str = "", prints_token: bool = False) -> Result:
        proc = subprocess.run(
            self.argv(*args),
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=REPO,
            timeout=TIMEOUT,
            check=False,
            umask=0,
        )
        self.scan.place(f"stderr of trayauth {' '.join(args)}", proc.stderr)
        if not prints_token:  # `token`/`header` print the token: that is their job
            self.scan.place(f"stdout of trayauth {' '.join(args)}", proc.stdout)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, stdin: str = "", prints_token: bool = False) -> Result:
        result = self.run(*args, stdin=stdin, prints_token=prints_token)
        assert result.code == 0, (args, result.err)
        assert "Traceback" not in result.err
        return result

    def fails(self, *args: str, stdin: str = "") -> Result:
        result = self.run(*args, stdin=stdin)
        assert result.code != 0, (args, result.out)
        lines = [line for line in result.err.splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in result.err, result.err
        return result

    def spawn(self, *args: str, stdin: str | None = None) -> Waiting:
        proc = subprocess.Popen(
            self.argv(*args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=REPO,
            umask=0,
        )
        assert proc.stdin is not None
        if stdin is not None:
            proc.stdin.write(stdin)
        proc.stdin.close()
        proc.stdin = None  # communicate() must not flush a closed pipe
        return Waiting(" ".join(args), proc, self.scan)


class Waiting:
    """A long-running CLI process: a login waiting for its browser or its device code."""

    def __init__(self, what: str, proc: subprocess.Popen[str], scan: Scan) -> None:
        self.what, self.proc, self.scan = what, proc, scan
        self.seen: list[str] = []

    def wait_for(self, pattern: str, deadline: float = 30.0) -> re.Match[str]:
        assert self.proc.stderr is not None
        watchdog = threading.Timer(deadline, self.proc.kill)  # a silent hang must not hang the suite
        watchdog.start()
        try:
            while line := self.proc.stderr.readline():
                self.seen.append(line)
                match = re.search(pattern, line)
                if match:
                    return match
        finally:
            watchdog.cancel()
        raise AssertionError(f"{self.what}: no {pattern!r} on stderr: {self.seen}")

    def read_proc(self) -> None:
        """What ``ps`` and anyone reading /proc see of this process while it holds secrets."""
        proc_files(self.scan, self.what, self.proc.pid)

    def finish(self) -> None:
        out, err = self.proc.communicate(timeout=TIMEOUT)
        err = "".join(self.seen) + err
        self.scan.place(f"stderr of trayauth {self.what}", err)
        self.scan.place(f"stdout of trayauth {self.what}", out)
        assert self.proc.returncode == 0, err
        assert "Traceback" not in err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=TIMEOUT)


def proc_files(scan: Scan, what: str, pid: int) -> None:
    for name in ("environ", "cmdline"):
        data = Path(f"/proc/{pid}/{name}").read_bytes()
        assert data, f"/proc/{pid}/{name} of {what} is empty: the process already ended"
        scan.place(f"/proc/<pid>/{name} of {what}", data)


def browse(url: str) -> httpx.Response:
    """The browser: follow the provider's 302 to the loopback."""
    return httpx.get(url, follow_redirects=True, timeout=10)


# --------------------------------------------------------------------------------------------
# What the provider issued, from its own books


def record_mints(srv: ProviderServer) -> list[tuple[str, str]]:
    """(what, token) for every JWT, PASETO and ID token the provider signs from now on (not in its books)."""
    mint = srv._ctx.mint
    minted: list[tuple[str, str]] = []
    jwt_, paseto_, id_token_ = mint.jwt, mint.paseto, mint.id_token

    def jwt(claims: dict[str, Any], *, unique: bool = True) -> str:
        minted.append(("JWT signed by the provider", jwt_(claims, unique=unique)))
        return minted[-1][1]

    def paseto(claims: dict[str, Any], *, local: bool = False, footer: bytes = b"") -> str:
        minted.append(("PASETO signed by the provider", paseto_(claims, local=local, footer=footer)))
        return minted[-1][1]

    def id_token(claims: dict[str, Any], *, key: Any = None) -> str:
        minted.append(("ID token signed by the provider", id_token_(claims, key=key)))
        return minted[-1][1]

    mint.jwt = jwt  # type: ignore[method-assign]
    mint.paseto = paseto  # type: ignore[method-assign]
    mint.id_token = id_token  # type: ignore[method-assign]
    return minted


def issued(srv: ProviderServer, minted: list[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """(what, value) for every credential the provider handed out: tokens, refresh tokens, codes."""
    ctx = srv._ctx
    for token, record in ctx.book._access.items():
        yield f"access token issued by {record.vendor}", token
    for token, family in ctx.book._refresh.items():
        yield f"refresh token issued by {family.vendor}", token
    for vendor, book in ctx.codes.items():
        for code in book._codes:
            yield f"one-time code issued by {vendor}", code
    for device_code in ctx.devices._by_device:
        yield "device code", device_code
    yield from minted


# --------------------------------------------------------------------------------------------
# The test


def file_keyring() -> Any:
    """The test's keyring (keyrings.alt's file, under XDG_DATA_HOME), as the CLI processes see it."""
    from keyrings.alt.file import PlaintextKeyring

    return PlaintextKeyring()


def spoil_tokens(config: Path, name: str, **changes: Any) -> None:
    """Change the stored token set of ``name`` through the core API (an expiry, a refresh token)."""

    def change(entry: VaultEntry) -> VaultEntry:
        assert entry.tokens is not None, f"{name} holds no token"
        return replace(entry, tokens=replace(entry.tokens, **changes))

    Store.open(config).vault.update(name, change)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def parallel(*calls: Callable[[], T]) -> list[T]:
    """Independent CLI processes side by side (each costs ~0.2 s of interpreter start-up)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda call: call(), calls))


def lines(*values: str) -> str:
    return "".join(v + "\n" for v in values)


def test_the_scanner_sees_encoded_secrets() -> None:
    secret = f"pw-{secrets.token_urlsafe(20)}"
    scan = Scan()
    scan.secret("a password", secret)
    for pad in range(4):
        blob = secrets.token_bytes(pad) + secret.encode() + secrets.token_bytes(3 - pad)
        for encoded in (base64.b64encode(blob), base64.urlsafe_b64encode(blob)):
            scan.place(f"base64 at offset {pad}", b"x=" + encoded)
    scan.place("a URL", f"https://h/cb?p={quote(secret + '/+')}")
    scan.place("JSON", json.dumps({"p": secret}))
    assert len(scan.hits()) == len(scan.places)
    scan.places = [Place("near misses", (secret[:-1] + " " + secret[1:]).encode())]
    assert scan.hits() == []


def test_every_flow_leaves_no_secret_outside_the_vault(
    isolated: Path,
    fresh_provider: ProviderServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    figures: Figures,
) -> None:
    srv = fresh_provider
    srv.set_rate_limit("senseye", None)
    srv.settings.device_interval = 1  # the CLI polls after one real second instead of five
    minted = record_mints(srv)
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # the in-process CLI reads our keyring
    config = isolated
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "TRAYAUTH_DEBUG": "1",  # an internal error would print its traceback: more to scan, not less
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    scan = Scan()
    cli = Cli(scan, env)

    def given(what: str) -> str:
        value = f"{what.replace(' ', '-')}-{secrets.token_urlsafe(24)}"
        scan.secret(f"the {what}", value)
        return value

    def add(name: str, preset: str, settings: dict[str, str]) -> None:
        """`trayauth add` in-process: it takes no secret, and a process costs ~0.3 s."""
        argv = ["add", name, preset, *(f"--set={k}={v}" for k, v in settings.items())]
        assert inproc(*argv).code == 0

    def inproc(*args: str, stdin: str = "", prints_token: bool = False) -> Result:
        result = run_cli(*args, stdin=stdin)
        scan.place(f"stderr of in-process trayauth {' '.join(args)}", result.err)
        if not prints_token:
            scan.place(f"stdout of in-process trayauth {' '.join(args)}", result.out)
        assert "Traceback" not in result.err
        return result

    def vault_tokens(name: str) -> TokenSet:
        tokens = Store.open(config).vault.entry(name).tokens
        assert tokens is not None, f"{name} holds no token"
        return tokens

    base = srv.base_url
    now = int(time.time())
    token_outputs: list[Place] = []

    # ---- the provider's users and clients: every secret random, registered as it is made ----
    pw = {v: given(f"{v} password") for v in ("sentiance", "senseye", "amino", "oauth")}
    for vendor in ("sentiance", "senseye", "amino"):
        srv.add_user(vendor, f"scan@{vendor}.test", pw[vendor])
    srv.add_user("oauth", "scanner", pw["oauth"])
    app_secret = given("sensos application secret")
    srv.add_user("sensos", "scan-tenant/scan-app", app_secret)
    api_key = given("attentive api key")
    srv.add_user("attentive", "Scan app", api_key)
    attentive_secret = given("attentive client secret")
    srv.add_client("attentive", "scan-attentive-app", attentive_secret)
    client_secret = given("oauth client secret")
    srv.add_client("oauth", "scan-confidential", client_secret)
    pasted = {
        "sentiance-token": srv.mint_jwt({"sub": "scan-sdk-user", "exp": now + 7200}),
        "senseye-machine": srv.mint_paseto(
            {"sub": "scan-machine", "exp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now + 7200))}
        ),
        "bearer": given("pasted bearer token"),
    }
    for preset, token in pasted.items():
        scan.secret(f"the token pasted into {preset}", token)

    # ---- one account per preset (and some that will fail), added by the CLI -----------------
    oauth = {"issuer": srv.issuer, "client_id": "scan-confidential"}
    user = {v: {"base_url": base(v), "username": f"scan@{v}.test"} for v in ("sentiance", "senseye", "amino")}
    sensos = {"base_url": base("sensos"), "tenant_id": "scan-tenant", "application_id": "scan-app"}
    with_secret = ("--with-secret", "client_secret")
    # name, preset, settings, extra login options, the secrets it logs in with
    accounts: list[tuple[str, str, dict[str, str], tuple[str, ...], tuple[str, ...]]] = [
        ("sentiance", "sentiance", user["sentiance"], (), (pw["sentiance"],)),
        ("senseye", "senseye", user["senseye"], (), (pw["senseye"],)),
        ("amino", "amino", user["amino"], (), (pw["amino"],)),
        ("sensos", "sensos", sensos, (), (app_secret,)),
        ("attentive", "attentive", {"base_url": base("attentive")}, (), (api_key,)),
        (
            "oauth2-password",
            "oauth2-password",
            {**oauth, "username": "scanner"},
            with_secret,
            (client_secret, pw["oauth"]),
        ),
        ("oauth2-client-credentials", "oauth2-client-credentials", oauth, (), (client_secret,)),
        *((preset, preset, {}, (), (token,)) for preset, token in pasted.items()),
        ("stale-sentiance", "sentiance", user["sentiance"], (), (pw["sentiance"],)),
        ("stale-amino", "amino", user["amino"], (), (pw["amino"],)),
    ]
    # name, preset, settings, extra login options, a maker of wrong secrets (used twice)
    failing: list[tuple[str, str, dict[str, str], tuple[str, ...], Callable[[], tuple[str, ...]]]] = [
        ("bad-sentiance", "sentiance", user["sentiance"], (), lambda: (given("wrong sentiance password"),)),
        ("bad-senseye", "senseye", user["senseye"], (), lambda: (given("wrong senseye password"),)),
        ("bad-amino", "amino", user["amino"], (), lambda: (given("wrong amino password"),)),
        ("bad-sensos", "sensos", sensos, (), lambda: (given("wrong sensos secret"),)),
        (
            "bad-attentive",
            "attentive",
            {"base_url": base("attentive")},
            (),
            lambda: (given("wrong api key"),),
        ),
        (
            "bad-password",
            "oauth2-password",
            {**oauth, "username": "scanner"},
            with_secret,
            lambda: (given("wrong oauth client secret"), given("wrong oauth password")),
        ),
        ("bad-client", "oauth2-client-credentials", oauth, (), lambda: (given("wrong client secret"),)),
        ("bad-bearer", "bearer", {}, (), lambda: (srv.mint_jwt({"sub": "scan-stale", "exp": now - 10}),)),
    ]
    browser = {
        "oauth2": ("oauth2", {**oauth, "scopes": "openid offline_access"}),
        "attentive-oauth": (
            "attentive-oauth",
            {
                "base_url": base("attentive"),
                "authorize_url": f"{base('attentive')}/ui/integrations/oauth-install",
                "client_id": "scan-attentive-app",
            },
        ),
        "oauth2-device": ("oauth2-device", {**oauth, "scopes": "openid offline_access"}),
    }
    for name, preset, settings, *_ in accounts + failing:
        add(name, preset, settings)
    for name, (preset, settings) in browser.items():
        add(name, preset, settings)

    # ---- browser and device sign-ins: while they wait, /proc shows what they hold ------------
    waiting = [
        cli.spawn(
            "login", "oauth2", "--no-browser", "--secret-stdin", *with_secret, stdin=lines(client_secret)
        ),
        cli.spawn(
            "login", "attentive-oauth", "--no-browser", "--secret-stdin", stdin=lines(attentive_secret)
        ),
        cli.spawn(
            "login",
            "oauth2-device",
            "--no-browser",
            "--secret-stdin",
            *with_secret,
            stdin=lines(client_secret),
        ),
    ]
    try:
        for login in waiting[:2]:
            url = login.wait_for(r"(https?://\S+redirect_uri=\S+)").group(1)
            login.read_proc()
            page = browse(url)
            assert page.status_code == 200, page.text
            scan.place(f"the page the browser got from {login.what}", page.content)
        device = waiting[2]
        code = device.wait_for(r"enter the code ([A-Z]{4}-[A-Z]{4})").group(1)
        device.read_proc()
        srv.approve_device(code, "scanner")
        # ---- every other preset logs in meanwhile, its secrets on stdin --------------------
        parallel(
            *(
                partial(cli.ok, "login", name, "--secret-stdin", *extra, stdin=lines(*values))
                for name, _preset, _settings, extra, values in accounts
            )
        )
        for login in waiting:
            login.finish()
    finally:
        for login in waiting:
            login.kill()

    # ---- failures, in a process of their own (below: in-process, every logger at DEBUG) ------
    def fail_login(name: str, extra: tuple[str, ...], make: Callable[[], tuple[str, ...]]) -> Result:
        result = cli.fails("login", name, "--secret-stdin", *extra, stdin=lines(*make()))
        assert result.code == 3, (name, result.err)
        return result

    # A refresh token the provider does not know (a stale copy, a typo, a session revoked).
    for name in ("stale-sentiance", "stale-amino"):
        bogus = given(f"unknown refresh token of {name}")
        spoil_tokens(config, name, refresh_token=bogus, expires_at=time.time() - 1)
    parallel(
        *(partial(fail_login, name, extra, make) for name, _p, _s, extra, make in failing),
        partial(cli.fails, "token", "stale-sentiance"),
        partial(cli.fails, "token", "stale-amino"),
        partial(cli.fails, "token", "no-such-account"),
    )

    # From here every logger (httpx, httpcore, asyncio, trayauth's own if any) is captured at
    # DEBUG; what the test's own "browser" logged above (the codes it carried) is not trayauth's.
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    for name, _preset, _settings, extra, make in failing:
        result = inproc("login", name, "--secret-stdin", *extra, stdin=lines(*make()))
        assert result.code == 3, (name, result.err)
    for name in ("stale-sentiance", "stale-amino"):
        assert inproc("refresh", name).code == 3

    # ---- renewals in-process: refresh tokens, kept passwords, kept client secrets ------------
    renewable = [
        "sentiance",
        "senseye",
        "amino",
        "sensos",
        "oauth2",
        "oauth2-device",
        "oauth2-password",
        "oauth2-client-credentials",
    ]
    for name in renewable:
        old = vault_tokens(name)
        spoil_tokens(config, name, expires_at=time.time() - 1)  # due: the next `token` renews
        got = inproc("token", name, prints_token=True)
        assert got.code == 0, (name, got.err)
        token_outputs.append(Place(f"stdout of trayauth token {name}", got.out.encode()))
        assert got.out.strip() == vault_tokens(name).access_token != old.access_token, f"{name} not renewed"
        assert inproc("refresh", name).code == 0
    for args in (("list",), ("list", "--json"), ("status",), ("inspect", "oauth2")):
        assert inproc(*args).code == 0
    assert srv.revoked_families("sentiance") == srv.revoked_families("oauth") == 0

    # ---- the read-only commands ---------------------------------------------------------------
    good = [*renewable, "attentive", "attentive-oauth", *pasted]

    def header(name: str) -> None:
        out = cli.ok("header", name, prints_token=True).out
        assert out.strip() == f"Authorization: Bearer {vault_tokens(name).access_token}"
        token_outputs.append(Place(f"stdout of trayauth header {name}", out.encode()))

    parallel(
        *(partial(cli.ok, "inspect", name) for name in good),
        *(partial(cli.ok, "inspect", name, "--json") for name in ("sentiance", "oauth2", "senseye-machine")),
        *(partial(header, name) for name in (*good[len(renewable) :], "sentiance", "oauth2")),
        partial(cli.ok, "list"),
        partial(cli.ok, "status"),
        partial(cli.fails, "inspect", "bad-sentiance"),
    )
    rows = {row["name"]: row for row in json.loads(cli.ok("list", "--json").out)}
    assert all(rows[name]["state"] == "valid" for name in good), rows
    assert rows["bad-sentiance"]["state"] == "logged_out" and rows["stale-amino"]["error"], rows
    assert srv.check("sentiance", vault_tokens("sentiance").access_token)
    assert srv.check("oauth", vault_tokens("oauth2-device").access_token)

    # ---- a tray: holds every token in memory, answers the CLI over its socket ---------------
    from trayauth.client import tray_running
    from trayauth.storage.paths import runtime_path

    tray = subprocess.Popen(
        cli.argv(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO, umask=0
    )
    try:
        deadline = time.monotonic() + 30
        while tray_running(runtime_path()) != tray.pid:
            assert tray.poll() is None, tray.communicate()
            assert time.monotonic() < deadline, "the tray did not start"
            time.sleep(0.05)
        proc_files(scan, "the tray", tray.pid)
        for name in ("sentiance", "oauth2-password", "attentive"):
            assert cli.ok("token", name, prints_token=True).out.strip() == vault_tokens(name).access_token
        assert f"tray: running (pid {tray.pid})" in cli.ok("status").out
        tray.send_signal(signal.SIGTERM)
        out, err = tray.communicate(timeout=TIMEOUT)
    finally:
        if tray.poll() is None:
            tray.kill()
            tray.communicate(timeout=TIMEOUT)
    scan.place("stderr of the tray", err)
    scan.place("stdout of the tray", out)
    assert "Traceback" not in err, err

    # ---- what was issued, and what the vault holds -------------------------------------------
    for what, value in issued(srv, minted):
        scan.secret(what, value)
    # Every kind the provider hands out is searched for: a kind missing here means a change in the
    # provider server took it out of the scan, not that it stopped leaking.
    kinds = {what.split(" issued by ")[0].split(" signed by ")[0] for what in scan.secrets.values()}
    assert {"access token", "refresh token", "one-time code", "device code", "ID token"} <= kinds, kinds
    store = Store.open(config)
    entries = store.vault.read_all()
    in_vault = {v for e in entries.values() for v in e.secrets.values()}
    in_vault |= {
        t for e in entries.values() if e.tokens for t in (e.tokens.access_token, e.tokens.refresh_token) if t
    }
    unknown = in_vault - set(scan.secrets)
    assert not unknown, f"the vault holds {len(unknown)} credentials the scan does not know"
    assert entries["senseye"].secrets == {"password": pw["senseye"]}  # kept: senseye cannot refresh
    assert not entries["sentiance"].secrets  # used once, not kept

    vault_id = store.vault.vault_id()
    assert vault_id is not None
    key = file_keyring().get_password(SERVICE, keyring_username(vault_id))
    assert key is not None and len(key) == 44
    scan.vault_key = key
    assert not store.paths.key_file.exists(), "the key went to a file although a keyring works"

    # ---- the vault: nothing in the clear, useless without its key ---------------------------
    from cryptography.fernet import Fernet, InvalidToken

    raw = store.paths.vault_file.read_bytes()
    header_doc = json.loads(raw)
    assert set(header_doc) == {"format", "vault_id", "data"}
    assert scan.hits([Place("vault.json", raw)]) == []
    ciphertext = header_doc["data"].encode()
    # The scanner finds what is there: every credential the vault holds shows up in its plaintext.
    found = scan.hits([Place("the decrypted vault", Fernet(key.encode()).decrypt(ciphertext))])
    assert len(found) >= len(in_vault) > 20, found
    assert all(scan.hits([p]) for p in token_outputs), "a printed token was not recognised"
    with pytest.raises(InvalidToken):
        Fernet(new_key()).decrypt(ciphertext)

    ring = file_keyring()
    ring.set_password(SERVICE, keyring_username(vault_id), new_key().decode())  # another valid key
    line = cli.fails("token", "sentiance").err
    assert "cannot be decrypted" in line, line
    with pytest.raises(VaultError, match="cannot be decrypted") as wrong_key:
        Store.open(config).vault.read_all()
    scan.place("the wrong-key error", cli_line(wrong_key.value))
    ring.delete_password(SERVICE, keyring_username(vault_id))  # no key at all
    for args in (("token", "sentiance"), ("list",), ("inspect", "oauth2")):
        line = cli.fails(*args).err
        assert "missing from the keyring" in line, line
    with pytest.raises(VaultError, match="missing from the keyring") as no_key:
        Store.open(config).vault.read_all()
    scan.place("the missing-key error", cli_line(no_key.value))
    assert store.paths.vault_file.read_bytes() == raw, "a vault that could not be opened was rewritten"
    ring.set_password(SERVICE, keyring_username(vault_id), key)
    cli.ok("token", "sentiance", prints_token=True)  # the key back: nothing was lost

    # ---- every file left behind, every log record --------------------------------------------
    data_dir, run_dir = tmp_path / "data", tmp_path / "run"
    for path in files_under(config, data_dir, run_dir, home):
        if path != store.paths.vault_file:
            where = str(path.relative_to(tmp_path))
            scan.place(where, path.read_bytes(), may_hold_key=data_dir in path.parents)
    assert any(p.name.startswith("config/") for p in scan.places)
    by_logger: dict[str, list[str]] = {}
    for record in caplog.records:
        text = record.getMessage() + (f"\n{record.exc_text}" if record.exc_text else "")
        by_logger.setdefault(record.name, []).append(text)
    assert any(name.startswith("httpx") for name in by_logger), f"no HTTP logged: {sorted(by_logger)}"
    for name, texts in by_logger.items():
        scan.place(f"log records of {name} ({len(texts)})", "\n".join(texts))
    scan.place("pytest's captured log text", caplog.text)

    assert len(cli.launched) > 50
    hits = scan.hits()
    n_secrets = len(scan.secrets) + 1  # and the vault key
    n_places = sum(1 for p in scan.places if p.data)  # an empty stream or lock file is not counted
    figures.counts["secret scan"] = f"{n_secrets} secrets x {n_places} places scanned, {len(hits)} hits"
    assert hits == [], "\n".join(hits)

    # ---- permissions: every file 0600, every directory trayauth made 0700 -------------------
    assert mode(config) == 0o700
    for path in sorted(config.rglob("*")):
        want = 0o700 if path.is_dir() else 0o600
        assert mode(path) == want, f"{path} is {oct(mode(path))}, not {oct(want)}"
    for path in files_under(data_dir):
        assert mode(path) == 0o600, f"{path} is {oct(mode(path))}"
