"""Consent settings, remembered decisions, and the hand-out log: files beside the config.

``consent.json`` holds which accounts ask before handing out and the "Always for this program"
decisions; ``activity.jsonl`` has one line per token handed out (or refused) by the tray's
agent. Neither ever holds a token: a line says when, which account, who asked and what happened.

Kept out of ``config.toml`` on purpose: decisions are written by the tray as the user clicks,
many times a day, and the config file is the user's to edit by hand. A removed account's flags
stay until it is re-added under the same name, which then still asks: the safe direction.

This is the Qt-free API the Settings and Activity views use: :meth:`ConsentStore.asks`,
:meth:`set_ask`, :meth:`decisions`, :meth:`revoke`, :meth:`activity`.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from trayauth.storage import atomic
from trayauth.storage.locks import lock_file
from trayauth.storage.paths import ensure_root

CONSENT_FILE = "consent.json"
ACTIVITY_FILE = "activity.jsonl"
ACTIVITY_KEEP = 1000  # lines kept when the log is trimmed
ACTIVITY_TRIM_BYTES = 512 * 1024  # a few thousand lines: trimmed then, so it never grows without end


@dataclass(frozen=True, slots=True)
class Remembered:
    """An "Always for this program" decision."""

    account: str
    program: str
    label: str  # what the dialog showed, for the Settings list
    decided_at: float


@dataclass(frozen=True, slots=True)
class HandOut:
    """One line of the activity log. ``outcome``: given, denied, timed_out, failed."""

    at: float
    account: str
    requester: str
    outcome: str
    how: str = ""  # "asked", "always", "not asked", "" (no consent needed)


class ConsentStore:
    def __init__(self, root: Path, clock: Any = time.time) -> None:
        self.root = Path(root)
        self.file = self.root / CONSENT_FILE
        self.log_file = self.root / ACTIVITY_FILE
        self.clock = clock

    # ---- reading ----------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"ask": [], "always": []}
        except (OSError, ValueError, RecursionError):
            # Unreadable: every account asks and nothing is remembered (fail closed, say nothing
            # worse than one more question); the next change rewrites the file.
            return {"ask": ["*"], "always": []}
        if not isinstance(data, dict):
            return {"ask": ["*"], "always": []}
        ask = [a for a in data.get("ask", []) if isinstance(a, str)]
        always = [r for r in data.get("always", []) if isinstance(r, dict)]
        return {"ask": ask, "always": always}

    def asks(self, account: str) -> bool:
        """True when the account is set to "Ask before handing out"."""
        ask = self._load()["ask"]
        return account in ask or "*" in ask

    def asking_accounts(self) -> list[str]:
        return [a for a in self._load()["ask"] if a != "*"]

    def decisions(self, account: str | None = None) -> list[Remembered]:
        out = []
        for row in self._load()["always"]:
            try:
                item = Remembered(
                    str(row["account"]), str(row["program"]), str(row["label"]), float(row["decided_at"])
                )
            except (KeyError, TypeError, ValueError):
                continue
            if account is None or item.account == account:
                out.append(item)
        return out

    def allowed(self, account: str, program: str) -> bool:
        return bool(program) and any(d.program == program for d in self.decisions(account))

    # ---- changing ---------------------------------------------------------------------------

    def _change(self, fn: Any) -> None:
        ensure_root(self.root)
        with lock_file(self.file.with_name(self.file.name + ".lock"), timeout=10):
            data = self._load()
            data["ask"] = [a for a in data["ask"] if a != "*"]
            fn(data)
            atomic.write_atomic(self.file, json.dumps(data, indent=1).encode("utf-8"), 0o600)

    def set_ask(self, account: str, ask: bool) -> None:
        def change(data: dict[str, Any]) -> None:
            rest = [a for a in data["ask"] if a != account]
            data["ask"] = [*rest, account] if ask else rest

        self._change(change)

    def remember(self, account: str, program: str, label: str) -> None:
        if not program:
            return

        def change(data: dict[str, Any]) -> None:
            rows = [r for r in data["always"] if (r.get("account"), r.get("program")) != (account, program)]
            rows.append(asdict(Remembered(account, program, label, self.clock())))
            data["always"] = rows

        self._change(change)

    def revoke(self, account: str, program: str | None = None) -> None:
        """Forget "always" for one program of the account, or for all of its programs."""

        def change(data: dict[str, Any]) -> None:
            data["always"] = [
                r
                for r in data["always"]
                if not (r.get("account") == account and (program is None or r.get("program") == program))
            ]

        self._change(change)

    # ---- the hand-out log -------------------------------------------------------------------

    def record(self, account: str, requester: str, outcome: str, how: str = "") -> HandOut:
        entry = HandOut(self.clock(), account, requester, outcome, how)

        with contextlib.suppress(OSError):  # the log is a record, never a reason to refuse a token
            ensure_root(self.root)
            fd = os.open(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, json.dumps(asdict(entry)).encode("utf-8") + b"\n")
            finally:
                os.close(fd)
            self._trim()
        return entry

    def activity(self, limit: int = 200) -> list[HandOut]:
        """The newest ``limit`` hand-outs, newest first."""
        try:
            lines = self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return []
        out: list[HandOut] = []
        for line in reversed(lines):
            if len(out) >= limit:
                break
            try:
                row = json.loads(line)
                out.append(
                    HandOut(
                        float(row["at"]),
                        str(row["account"]),
                        str(row["requester"]),
                        str(row["outcome"]),
                        str(row.get("how", "")),
                    )
                )
            except (ValueError, KeyError, TypeError, RecursionError):
                continue
        return out

    def _trim(self) -> None:
        try:
            if self.log_file.stat().st_size < ACTIVITY_TRIM_BYTES:
                return
            lines = self.log_file.read_bytes().splitlines(keepends=True)[-ACTIVITY_KEEP:]
        except OSError:
            return

        atomic.write_atomic(self.log_file, b"".join(lines), 0o600)
