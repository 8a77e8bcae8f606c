"""Mutation testing of the modules that hold trayauth's protective rules.

For each module: copy the tree to a scratch folder, point mutmut at that one module and the fast
tests that exercise it, run it, and print killed / survived / score. A survivor whose only change
is the words of a message (see ``is_text_only``) is listed apart and counted as killed: no user
relies on the exact words. Mutants listed in EQUIVALENT (no observable change) are left out of
the score and listed apart; a mutant no selected test covers counts as a survivor. Module-level
constants (margins, caps, flags) are not mutated by mutmut 3, so a table of hand mutations
changes each one and checks the tests notice.

Usage: scripts/mutation.sh [MODULE ...]   (MODULE as in TARGETS, e.g. net/http; default: all)
Prints figures; exits 1 when a module scores under --min (default 85) or a hand mutation survives.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# module (under trayauth/) -> the fast, in-process tests that exercise it. Subprocess tests are
# left out on purpose: a child process imports the unmutated tree, so it could kill nothing.
TARGETS: dict[str, list[str]] = {
    "domain/tokens": [
        "tests/unit/test_tokens.py",
        "tests/unit/test_token_rules.py",
        "tests/unit/test_token_edges.py",
        "tests/unit/test_bearer_token_rules.py",
        "tests/unit/test_jws_reader.py",
        # session_ends_at, the sign-in-by moment, is read through the account snapshots.
        "tests/integration/test_accounts_mutants.py",
        "tests/integration/test_renewal_mutants.py",
    ],
    "net/http": [
        "tests/unit/test_http_policy.py",
        "tests/unit/test_http_rules.py",
        "tests/unit/test_http_edges.py",
    ],
    "storage/vault": [
        "tests/unit/test_store_vault.py",
        "tests/unit/test_vault_rules.py",
        "tests/unit/test_vault_edges.py",
    ],
    "storage/atomic": [
        "tests/unit/test_store_atomic.py",
        "tests/unit/test_atomic_rules.py",
        "tests/unit/test_atomic_reserve.py",
    ],
    # The renewal service (login, renewal and its state machine, logout) and the accounts service
    # (remove, the default). Both are driven through the broker, in-process, by the CLI runner.
    "services/renewal": [
        "tests/integration/test_broker.py",
        "tests/integration/test_renewal_rules.py",
        "tests/integration/test_oauth_flows.py",
        "tests/integration/test_cli_errors.py",
        "tests/integration/test_one_rule.py",
        "tests/integration/test_oauth_letter.py",
        "tests/integration/test_cli_vendors.py",
        "tests/integration/test_renewal_mutants.py",
        "tests/integration/test_accounts_mutants.py",
        "tests/integration/test_session_races.py::test_a_renewal_whose_login_ended_drops_its_result",
    ],
    "services/accounts": [
        "tests/integration/test_broker.py",
        "tests/integration/test_renewal_rules.py",
        "tests/integration/test_one_rule.py",
        "tests/integration/test_cli_errors.py",
        "tests/integration/test_cli_vendors.py",
        "tests/integration/test_renewal_mutants.py",
        "tests/integration/test_accounts_mutants.py",
    ],
    "services/agent": ["tests/unit/test_agent.py", "tests/unit/test_agent_edges.py"],
    # The tray's worker: the wire and "a call left without an answer may have been accepted".
    "services/flow_process": [
        "tests/unit/test_flow_process.py",
        # The worker a child process runs imports the same (mutated) tree: worker_env puts it first.
        "tests/integration/test_renewal_in_workers.py",
    ],
    # The one file lock under the account, vault, config and one-tray locks.
    "storage/flock": ["tests/unit/test_flock.py", "tests/unit/test_agent_edges.py"],
    "net/loopback": ["tests/unit/test_loopback.py", "tests/unit/test_loopback_edges.py"],
}


@dataclass(frozen=True)
class HandMutation:
    """One constant changed by hand: ``old`` must appear exactly once in ``module``."""

    module: str
    old: str
    new: str
    why: str


HAND: list[HandMutation] = [
    HandMutation("net/http", "MAX_BODY = 1_048_576", "MAX_BODY = 2_097_152", "body cap doubled"),
    HandMutation(
        "net/http",
        "RETRY_STATUSES = frozenset({429, 503})",
        "RETRY_STATUSES = frozenset({429})",
        "503 no longer waited for",
    ),
    HandMutation("net/http", "BACKOFF_BASE = 1.0", "BACKOFF_BASE = 2.0", "backoff base doubled"),
    HandMutation("domain/tokens", "MAX_MARGIN = 60.0", "MAX_MARGIN = 120.0", "renewal margin cap"),
    HandMutation("domain/tokens", "MARGIN_FRACTION = 0.10", "MARGIN_FRACTION = 0.20", "margin fraction"),
    HandMutation(
        "domain/tokens", "ASSUMED_LIFETIME = 3600.0", "ASSUMED_LIFETIME = 1800.0", "assumed lifetime"
    ),
    HandMutation("domain/tokens", "EXPIRING_WINDOW = 300.0", "EXPIRING_WINDOW = 600.0", "expiring window"),
    HandMutation("storage/vault", "FORMAT = 1", "FORMAT = 2", "vault format marker"),
]


@dataclass(frozen=True)
class Equivalent:
    """A mutant that changes no behaviour anyone can observe; left out of the score, listed apart.

    ``old`` and ``new`` are the changed lines as the diff shows them, stripped, joined by "\\n".
    """

    module: str
    old: str
    new: str
    why: str
    function: str = ""  # part of the mutant's name, where the same change elsewhere would matter


def _eq(module: str, old: str, new: str, why: str, function: str = "") -> Equivalent:
    return Equivalent(module, old, new, why, function)


_UNREACHABLE = 'raise AssertionError("unreachable")  # pragma: no cover'
_PASETO_MIN = "if len(payload) <= 64:  # Ed25519 signature is the last 64 bytes"
EQUIVALENT: list[Equivalent] = [
    _eq(
        "net/http",
        'for form in {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}:',
        'for form in {secret, quote(secret, safe="XXXX"), quote(secret), quote_plus(secret)}:',
        '"X" is never percent-encoded, so safe="XXXX" encodes exactly what safe="" does',
    ),
    _eq(
        "net/http",
        'return jsonlib.loads(self.content.decode("utf-8"))',
        'return jsonlib.loads(self.content.decode("UTF-8"))',
        "codec names are case-insensitive",
    ),
    _eq(
        "net/http",
        'data = jsonlib.loads(resp.content.decode("utf-8"))',
        'data = jsonlib.loads(resp.content.decode("UTF-8"))',
        "codec names are case-insensitive",
    ),
    _eq(
        "net/http",
        "data = None",
        'data = ""',
        "both are not a dict: the same branch follows",
        "x_describe_error__",
    ),
    *(
        _eq(
            "net/http",
            'if parts.scheme not in ("http", "https") or not host:',
            f'if parts.scheme not in ("http", {text}) or not host:',
            "an https URL with a host returned two lines above; one without a host is refused by `not host`",
        )
        for text in ('"XXhttpsXX"', '"HTTPS"')
    ),
    *(
        _eq(
            "net/http",
            _UNREACHABLE,
            _UNREACHABLE.replace('"unreachable"', text),
            "the line cannot be reached",
        )
        for text in ("None", '"XXunreachableXX"', '"UNREACHABLE"')
    ),
    _eq(
        "net/http",
        'declared = response.headers.get("content-length")',
        'declared = response.headers.get("CONTENT-LENGTH")',
        "httpx header lookup is case-insensitive",
    ),
    *(
        _eq(
            "domain/tokens",
            "return _bounded(parse_timestamp(value, key))",
            new,
            "the name is only in a message _claim_time swallows (a bad claim is no claim)",
        )
        for new in (
            "return _bounded(parse_timestamp(value, None))",
            "return _bounded(parse_timestamp(value, ))",
        )
    ),
    _eq(
        "domain/tokens",
        'return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))',
        'return base64.urlsafe_b64decode(part + "=" * (+len(part) % 4))',
        "the non-strict decoder accepts surplus padding: both paddings decode the same bytes",
    ),
    _eq(
        "domain/tokens",
        _PASETO_MIN,
        _PASETO_MIN.replace("<= 64", "< 64"),
        "a 64-byte payload leaves an empty message, which is not JSON: refused either way",
    ),
    _eq(
        "domain/tokens",
        _PASETO_MIN,
        _PASETO_MIN.replace("<= 64", "<= 65"),
        "a 65-byte payload leaves a 1-byte message, which cannot be a JSON object: refused either way",
    ),
    *(
        _eq("domain/tokens", old, old.replace('"utf-8"', '"UTF-8"'), "codec names are case-insensitive")
        for old in (
            'claims = json.loads(payload[:-64].decode("utf-8"))',
            'parsed = json.loads(footer_raw.decode("utf-8"))',
            'footer = {"footer": footer_raw.decode("utf-8", "replace")}',
        )
    ),
    *(
        _eq(
            "net/http",
            'return host.strip("[]").lower().endswith(".localhost")',
            f'return host.strip({text}).lower().endswith(".localhost")',
            "it is given urlsplit's hostname, which never carries brackets or an X at both ends",
        )
        for text in ("None", '"XX[]XX"')
    ),
    *(
        _eq(
            "net/http",
            'if not is_loopback_host(address.split("%", 1)[0]):',
            f"if not is_loopback_host(address.{new}[0]):",
            "ipaddress reads an IPv6 scope id (%lo) itself, and an address has at most one %",
        )
        for new in ("split(None, 1)", 'split("%", )', 'rsplit("%", 1)', 'split("XX%XX", 1)', 'split("%", 2)')
    ),
    *(
        _eq(
            "net/http",
            'address = addresses[0].split("%", 1)[0]',
            f"address = addresses[0].{new}[0]",
            "an address has at most one %: the part before it is the same",
        )
        for new in ('split("%", )', 'rsplit("%", 1)', 'split("%", 2)')
    ),
    *(
        _eq(
            "net/http",
            'out.setdefault("Host", parts.netloc.rsplit("@", 1)[-1])',
            f'out.setdefault("Host", parts.netloc.rsplit("@", {n})[-1])',
            "the part after the last @ is the same however often the rest is split",
        )
        for n in ("", "2")
    ),
    _eq(
        "net/http",
        'host = parts.hostname or ""',
        'host = parts.hostname or "XXXX"',
        "a URL without a host was refused by check_url before the request got here",
        "_pinned__",
    ),
    *(
        _eq(
            "domain/tokens",
            'if text.endswith(("Z", "z")):',
            f'if text.endswith(({text}, "z")):',
            'datetime.fromisoformat reads a final "Z" itself since Python 3.11 (the oldest supported)',
        )
        for text in ('"XXZXX"', '"z"')
    ),
    _eq(
        "domain/tokens",
        'return _bounded(parse_timestamp(expires_at, "expires_at"))',
        "return _bounded(parse_timestamp(expires_at, ))",
        'the default name is "expires_at" too',
    ),
    _eq(
        "domain/tokens",
        "if not lifetime or lifetime <= 0:",
        "if not lifetime or lifetime < 0:",
        "a lifetime of 0 is already caught by `not lifetime`",
    ),
    *(
        _eq(
            "storage/vault",
            'refresh_in_flight=bool(data.get("refresh_in_flight", False)),',
            new,
            "bool(None) is False, like the default it replaces",
        )
        for new in (
            'refresh_in_flight=bool(data.get("refresh_in_flight", None)),',
            'refresh_in_flight=bool(data.get("refresh_in_flight", )),',
        )
    ),
    _eq(
        "storage/vault",
        'return vault_id, data.encode("ascii", "replace")',
        'return vault_id, data.encode("ASCII", "replace")',
        "codec names are case-insensitive",
    ),
    *(
        _eq(
            "storage/vault",
            'raise TypeError("accounts")',
            f"raise TypeError({text})",
            "caught three lines below and replaced by the vault's own message",
        )
        for text in ("None", '"XXaccountsXX"', '"ACCOUNTS"')
    ),
    _eq(
        "storage/vault",
        "vault_id = os.urandom(16).hex()",
        "vault_id = os.urandom(17).hex()",
        "any id of 8 to 64 characters is valid; how many random bytes it has is not observable",
    ),
    *(
        _eq(
            "storage/vault",
            old,
            new,
            "the JSON inside the encrypted blob is only ever read by json.loads: its spacing is invisible",
        )
        for old, new in (
            ('separators=(",", ":"),', "separators=None,"),
            ('separators=(",", ":"),\n).encode()', ").encode()"),
        )
    ),
    _eq(
        "services/agent",
        'writer.write(json.dumps(reply).encode("utf-8") + b"\\n")',
        'writer.write(json.dumps(reply).encode("UTF-8") + b"\\n")',
        "codec names are case-insensitive",
    ),
    _eq("services/agent", "self.runtime_dir = runtime_dir", "self.runtime_dir = None", "nothing reads it"),
    _eq(
        "services/flow_process",
        'if getattr(sys, "frozen", False):',
        'if getattr(sys, "frozen", None):',
        "None and False are both false: a missing attribute means not frozen either way",
    ),
    _eq(
        "services/flow_process",
        "self._ids = itertools.count(1)",
        "self._ids = itertools.count(2)",
        "ids only need to be distinct within one tray",
    ),
    *(
        _eq(
            "storage/flock",
            "self._depth = 0  # how many times the holder took it; read only while held",
            f"self._depth = {value}  # how many times the holder took it; read only while held",
            "read only while the lock is held, and the first take sets it to 1",
        )
        for value in ("None", "1")
    ),
    *(
        _eq(
            "net/loopback",
            'template = PAGE.read_text(encoding="utf-8")',
            f"template = PAGE.read_text(encoding={text})",
            "the page file is ASCII: every ASCII-compatible encoding reads it the same",
        )
        for text in ("None", '"UTF-8"')
    ),
    *(
        _eq("net/loopback", old, old.replace(a, b), "codec names are case-insensitive")
        for old, a, b in (
            ('return text.encode("utf-8")', '"utf-8"', '"UTF-8"'),
            ('writer.write(head.encode("ascii") + body)', '"ascii"', '"ASCII"'),
            ('return raw.decode("ascii").rstrip("\\r\\n")', '"ascii"', '"ASCII"'),
        )
    ),
    _eq(
        "net/loopback",
        "super().__init__(status)",
        "super().__init__(None)",
        "nothing reads the exception's args; the status is its own attribute",
    ),
    *(
        _eq(
            "net/loopback",
            "self._server = await asyncio.start_server(self._serve, HOST, 0, limit=MAX_LINE)",
            new,
            "asyncio binds an OS-chosen port for a port of None as for 0",
        )
        for new in (
            "self._server = await asyncio.start_server(self._serve, HOST, None, limit=MAX_LINE)",
            "self._server = await asyncio.start_server(self._serve, HOST, limit=MAX_LINE)",
        )
    ),
    *(
        _eq(
            "net/loopback",
            'self._settle(LoginCancelled(f"{self.account}: sign-in cancelled", hint=""))',
            new,
            "LoginCancelled has no default hint: None (or no hint) is the same empty hint",
        )
        for new in (
            'self._settle(LoginCancelled(f"{self.account}: sign-in cancelled", hint=None))',
            'self._settle(LoginCancelled(f"{self.account}: sign-in cancelled", ))',
        )
    ),
    *(
        _eq(
            "net/loopback",
            "head = f\"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\\r\\n\"",
            f'head = f"HTTP/1.1 {{status}} {{_REASONS.get(status, {text})}}\\r\\n"',
            "every status the listener sends is in the reasons table: the default is never used",
        )
        for text in ("None", "", "'XXErrorXX'", "'error'", "'ERROR'")
    ),
    *(
        _eq(
            "net/loopback",
            'if headers.get("host", "").lower() != f"{HOST}:{self.port}" or not target.startswith("/"):',
            new,
            "the expected Host is an IP literal and a port (no letters); a missing one never equals it",
        )
        for new in (
            'if headers.get("host", "").upper() != f"{HOST}:{self.port}" or not target.startswith("/"):',
            'if headers.get("host", "XXXX").lower() != f"{HOST}:{self.port}" or not target.startswith("/"):',
        )
    ),
    *(
        _eq(
            "net/loopback",
            'if target.split("?", 1)[0] != self.path:',
            f'if target.split("?", {n})[0] != self.path:',
            "the part before the first '?' is the same however often the rest is split",
        )
        for n in ("", "2")
    ),
    _eq(
        "net/loopback",
        "pending = [t for t in self._tasks if t is not current and not t.done()]",
        "pending = [t for t in self._tasks if t is not current or not t.done()]",
        "cancelling and gathering a task that has finished does nothing",
    ),
    _eq(
        "net/loopback",
        "current = asyncio.current_task()",
        "current = None",
        "close() is never called from one of the listener's own connection tasks",
    ),
    *(
        _eq(
            "storage/atomic",
            old,
            old.replace("urandom(6)", "urandom(7)"),
            "a longer random name is no less safe",
        )
        for old in (
            'tmp = directory / f".{path.name}.{os.urandom(6).hex()}.tmp"',
            'target = path.parent / f".{path.name}.{os.urandom(6).hex()}{RESERVE_SUFFIX}"',
        )
    ),
    _eq(
        "storage/atomic",
        "fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)",
        "fd = os.open(directory, os.O_RDONLY & os.O_DIRECTORY)",
        "O_RDONLY is 0: the flags become 0, and opening a directory read-only needs nothing more",
    ),
    *(
        _eq(
            "storage/atomic",
            old,
            new,
            "only whether fallocate's blocks are written over with zeros again: the same bytes",
            "x_reserve_beside__",
        )
        for old, new in (
            ("done = False", "done = None"),
            ("done = True", "done = None"),
            ("done = True", "done = False"),
        )
    ),
    _eq(
        "storage/atomic",
        "block = bytes(min(size, 65536))",
        "block = bytes(min(size, 65537))",
        "the size of each zero block written: the same bytes in the end",
    ),
    _eq(
        "storage/atomic",
        "with contextlib.suppress(OSError):",
        "with contextlib.suppress(None):",
        "the file it removes was created by this very call",
        "x_reserve_beside__",
    ),
    _eq(
        "storage/atomic",
        "if time.time() - os.lstat(leftover).st_mtime < _STALE_RESERVATION:",
        "if time.time() - os.lstat(leftover).st_mtime <= _STALE_RESERVATION:",
        "the clock is continuous: no reservation is read at an age of exactly 3600.000000 s",
    ),
    _eq(
        "storage/vault",
        "write_atomic(self.file, raw, 0o600)",
        "write_atomic(self.file, raw, )",
        "write_atomic's default mode is 0o600",
    ),
    _eq(
        "services/renewal",
        "result = await self._renew(name, force=False)",
        "result = await self._renew(name, force=None)",
        "force is only ever read as `not force`: None is as false as False",
    ),
    *(
        _eq(
            "services/renewal",
            old,
            old.replace("now=self.clock()", "now=None"),
            "the entry's updated_at is written, never read: nothing shows or decides by it",
        )
        for old in (
            "await self._update(name, transitions.logged_in(tokens, now=self.clock(), secrets=kept))",
            "await self._update(name, transitions.renewed(name, stored, now=self.clock(), "
            "session=entry.session))",
        )
    ),
    *(
        _eq(
            "services/renewal",
            old,
            new,
            "_renew names every error of a renewal (exc.about(name)) before it records or raises it",
            function,
        )
        for function in ("ǁ_renew_locked__", "ǁ_refresh__")
        for old, new in (("account=name,", "account=None,"), ("account=name,", ""))
    ),
    *(
        _eq(
            "services/renewal",
            "exc.detail, account=exc.account or name, next_step=NextStep.log_in(name)",
            new,
            "_renew names every error of a renewal (exc.about(name)); a flow's error names no other account",
        )
        for new in (
            "exc.detail, account=None, next_step=NextStep.log_in(name)",
            "exc.detail, next_step=NextStep.log_in(name)",
            "exc.detail, account=exc.account and name, next_step=NextStep.log_in(name)",
        )
    ),
    _eq(
        "services/accounts",
        "next_step=entry.last_step if entry.last_error else None,",
        "next_step=entry.last_step if (entry.last_error) or True else None,",
        "every writer sets last_step with last_error (failed, note_error) or clears both (renewed, login)",
    ),
]


KILLED = ("killed", "timeout", "segfault", "caught by type check")


@dataclass
class Score:
    module: str
    total: int = 0
    killed: int = 0
    survived: list[str] = field(default_factory=list)
    text_only: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)
    no_tests: int = 0
    seconds: float = 0.0

    @property
    def score(self) -> float:
        """Killed (message-text-only survivors count as killed) over all but the equivalent ones."""
        counted = self.total - len(self.equivalent)
        return 100.0 * (self.killed + len(self.text_only)) / counted if counted > 0 else 0.0


def _is_change(line: str, sign: str = "-+") -> bool:
    """A removed or added line of a unified diff (not its ---/+++ header)."""
    return line[:1] in sign and line[:1] != "" and not line.startswith(("---", "+++"))


def _changed(diff: str) -> tuple[str, str]:
    old = "\n".join(x[1:].strip() for x in diff.splitlines() if _is_change(x, "-"))
    new = "\n".join(x[1:].strip() for x in diff.splitlines() if _is_change(x, "+"))
    return old, new


def equivalent_reason(module: str, name: str, diff: str) -> str | None:
    old, new = _changed(diff)
    for known in EQUIVALENT:
        if known.module == module and (known.old, known.new) == (old, new) and known.function in name:
            return known.why
    return None


def copy_tree(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    for name in filter(None, listed):
        src = ROOT / name
        if not src.is_file() or name.startswith(("tests/packaging/", "mutants/")):
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


# Tests left out of every run: the first cannot pass on mutmut's instrumented copy of the tree
# (it checks which modules an import loads, and every mutated module loads mutmut's trampoline);
# the others do their work in a child process, where no mutant is seen, and take seconds.
NOT_UNDER_MUTMUT = [
    "tests/unit/test_agent.py::test_the_agent_loads_no_gui_http_or_crypto",
    # Its login runs in a child process (mutants are not seen there) and takes seconds.
    "tests/integration/test_oauth_letter.py::test_cli_login_without_refresh_token_says_when_to_sign_in_again",
]


def _deselected() -> list[str]:
    return [arg for test in NOT_UNDER_MUTMUT for arg in ("--deselect", test)]


def present(tests: list[str]) -> list[str]:
    """The selected tests whose file exists (a selection may name one test: ``file.py::name``)."""
    return [t for t in tests if (ROOT / t.split("::", 1)[0]).exists()]


def configure(dest: Path, module: str, tests: list[str]) -> None:
    block = (
        "\n[tool.mutmut]\n"
        'source_paths = ["trayauth"]\n'
        f'only_mutate = ["trayauth/{module}.py"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        f"pytest_add_cli_args = {json.dumps(['-p', 'no:cacheprovider', '-q', *_deselected()])}\n"
    )
    with (dest / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write(block)


def _tokens(text: str) -> list[tuple[int, str]]:
    """The tokens of a few diff lines; a bracket left open or closed by a line is no error here."""
    found: list[tuple[int, str]] = []
    skip = (
        tokenize.NEWLINE,
        tokenize.NL,
        tokenize.COMMENT,
        tokenize.ENDMARKER,
        tokenize.INDENT,
        tokenize.DEDENT,
    )
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type not in skip:
                found.append((tok.type, tok.string))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # at the end of the text: every token before it has been seen
    return found


def _literal(token: str) -> tuple[str, list[str]] | None:
    """The words and the code of a string literal: f"a {x} b" -> ("a  b", [dump of x])."""
    try:
        node = ast.parse(token, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, []
    if isinstance(node, ast.JoinedStr):
        words = "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
        code = [ast.dump(v) for v in node.values if not isinstance(v, ast.Constant)]
        return words, code
    return None


def _is_prose(token: str) -> bool:
    """A message for a person: a string (or f-string) whose own text has two words and a space.

    One word or none (or words joined without a space) is not prose: keys, header names,
    faultpoint names, encodings, modes, separators and formats such as "Bearer {token}" carry
    behaviour and must be killed by tests.
    """
    parsed = _literal(token)
    return parsed is not None and re.search(r"[A-Za-z]{2,}\W*\s+\W*[A-Za-z]{2,}", parsed[0]) is not None


def _same_code(before: str, after: str) -> bool:
    a, b = _literal(before), _literal(after)
    return a is not None and b is not None and a[1] == b[1]


def _is_message_argument(removed: list[tuple[int, str]]) -> bool:
    """A removed keyword argument that is only words: ``, hint="words"`` or ``message="words",``.

    A removed positional message is not counted: the call then lacks a required argument and
    raises TypeError, which is behaviour (a traceback instead of a line).
    """
    body = list(removed)
    while body and body[0] == (tokenize.OP, ","):
        body.pop(0)
    while body and body[-1] == (tokenize.OP, ","):
        body.pop()
    keyword = len(body) == 3 and body[0][1] in ("hint", "message") and body[1] == (tokenize.OP, "=")
    return keyword and body[2][0] == tokenize.STRING and _is_prose(body[2][1])


def is_text_only(diff: str) -> bool:
    """True when the mutant changes nothing but the words of a message.

    Counted so: the words of a prose string changed (an f-string's expressions untouched), a
    prose string replaced by None, or a prose ``hint=`` / ``message=`` keyword argument removed.
    """
    old = "\n".join(line[1:].strip() for line in diff.splitlines() if _is_change(line, "-")) + "\n"
    new = "\n".join(line[1:].strip() for line in diff.splitlines() if _is_change(line, "+")) + "\n"
    a, b = _tokens(old), _tokens(new)
    if not a or a == b:
        return False
    if len(a) == len(b):
        for (ta, sa), (tb, sb) in zip(a, b, strict=True):
            if (ta, sa) == (tb, sb):
                continue
            if ta != tokenize.STRING or not _is_prose(sa):
                return False
            if (tb, sb) == (tokenize.NAME, "None"):
                continue
            if tb != tokenize.STRING or not _same_code(sa, sb):
                return False
        return True
    if len(b) < len(a):
        head = 0
        while head < len(b) and a[head] == b[head]:
            head += 1
        tail = len(a) - (len(b) - head)
        return a[tail:] == b[head:] and _is_message_argument(a[head:tail])
    return False


_DIFFS = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
out = {}
for name in json.load(sys.stdin):
    try:
        out[name] = get_diff_for_mutant(name, path=sys.argv[1])
    except Exception:
        pass
print(json.dumps(out))
"""


def _diffs(dest: Path, env: dict[str, str], module: str, names: list[str], mutmut: str) -> dict[str, str]:
    """Every survivor's diff from one process (``mutmut show`` per mutant costs a second each)."""
    python = str(Path(mutmut).parent / "python")
    done = subprocess.run(
        [python, "-c", _DIFFS, f"trayauth/{module}.py"],
        cwd=dest,
        env=env,
        input=json.dumps(names),
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        found: dict[str, str] = json.loads(done.stdout) if done.returncode == 0 else {}
    except ValueError:
        found = {}
    for name in names:
        if name not in found:
            found[name] = subprocess.run(
                [mutmut, "show", name], cwd=dest, env=env, capture_output=True, text=True, check=False
            ).stdout
    return found


def run_module(module: str, tests: list[str], mutmut: str, children: int) -> Score:
    score = Score(module)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="trayauth-mutation-") as scratch:
        dest = Path(scratch)
        copy_tree(dest)
        configure(dest, module, present(tests))
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONDONTWRITEBYTECODE": "1"}
        subprocess.run(
            [mutmut, "run", "--max-children", str(children)],
            cwd=dest,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        listing = subprocess.run(
            [mutmut, "results", "--all", "true"],
            cwd=dest,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        statuses = []
        for line in listing.splitlines():
            name, _, status = line.strip().rpartition(": ")
            if name.startswith("trayauth."):
                statuses.append((name, status))
        score.total = len(statuses)
        score.killed = sum(status in KILLED for _, status in statuses)
        left = [(name, status) for name, status in statuses if status not in KILLED]
        diffs = _diffs(dest, env, module, [name for name, _ in left], mutmut)
        for name, status in left:
            score.no_tests += status == "no tests"
            diff = diffs.get(name, "")
            changed = "\n".join(x for x in diff.splitlines() if _is_change(x))
            entry = f"{name} ({status})\n{changed}"
            why = equivalent_reason(module, name, diff)
            if why is not None:
                score.equivalent.append(f"{entry}\n  equivalent: {why}")
            elif is_text_only(diff):
                score.text_only.append(entry)
            else:
                score.survived.append(entry)
        if not score.total:
            print(f"{module}: mutmut produced no results (see 'mutmut run' in a copy of the tree)")
    score.seconds = time.monotonic() - started
    return score


def run_hand(mutation: HandMutation, python: str) -> bool:
    """True when the module's tests fail with the constant changed (the mutation is caught)."""
    with tempfile.TemporaryDirectory(prefix="trayauth-hand-") as scratch:
        dest = Path(scratch)
        copy_tree(dest)
        source = dest / "trayauth" / f"{mutation.module}.py"
        text = source.read_text(encoding="utf-8")
        if text.count(mutation.old) != 1:
            print(f"  hand mutation {mutation.old!r} not found once in {mutation.module}: table is stale")
            return False
        source.write_text(text.replace(mutation.old, mutation.new), encoding="utf-8")
        tests = present(TARGETS[mutation.module])
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(dest)}
        done = subprocess.run(
            [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=dest,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        return done.returncode != 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("modules", nargs="*", help=f"any of: {', '.join(TARGETS)}")
    parser.add_argument("--min", type=float, default=85.0, help="the score each module must reach")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--no-hand", action="store_true", help="skip the hand mutations of constants")
    parser.add_argument("--show", action="store_true", help="print every survivor's diff")
    args = parser.parse_args()
    unknown = [m for m in args.modules if m not in TARGETS]
    if unknown:
        parser.error(f"unknown module {unknown[0]!r}; pick from {', '.join(TARGETS)}")
    modules = args.modules or [m for m in TARGETS if (ROOT / "trayauth" / f"{m}.py").exists()]
    bindir = Path(sys.executable).parent
    mutmut = str(bindir / "mutmut")
    if not Path(mutmut).exists():
        print("mutmut is not installed in this environment: pip install -e '.[test]'", file=sys.stderr)
        return 2
    failed = False
    scores = []
    for module in modules:
        score = run_module(module, TARGETS[module], mutmut, args.children)
        scores.append(score)
        print(
            f"{module}: {score.total} mutants, {score.killed} killed, "
            f"{len(score.text_only)} message-text only, {len(score.equivalent)} equivalent, "
            f"{len(score.survived)} survived ({score.no_tests} of them without a covering test): "
            f"{score.score:.1f} % ({score.seconds:.0f} s)",
            flush=True,
        )
        for title, entries in (
            ("survived", score.survived),
            ("text only", score.text_only),
            ("equivalent", score.equivalent),
        ):
            for entry in entries if args.show else []:
                print(f"  {title}: " + entry.replace("\n", "\n    "))
        failed |= score.score < args.min
    print()
    print(
        f"{'module':<20} {'mutants':>8} {'killed':>7} {'text':>5} {'equiv':>6} {'survived':>9} {'score':>7}"
    )
    for s in scores:
        print(
            f"{s.module:<20} {s.total:>8} {s.killed:>7} {len(s.text_only):>5} {len(s.equivalent):>6} "
            f"{len(s.survived):>9} {s.score:>6.1f}%"
        )
    if not args.no_hand:
        print("\nhand mutations of constants (mutmut 3 does not mutate module-level values):")
        for mutation in HAND:
            if mutation.module not in modules:
                continue
            caught = run_hand(mutation, sys.executable)
            failed |= not caught
            print(
                f"  {'caught ' if caught else 'MISSED '} {mutation.module}: {mutation.old} -> {mutation.new}"
                f" ({mutation.why})",
                flush=True,
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
