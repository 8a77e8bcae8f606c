"""Secrets and tokens, encrypted in ``vault.json`` with a key the :class:`KeyStore` keeps.

One file, rewritten whole: a change is lock, re-read, apply, encrypt, atomic rename, so the new
state replaces the old in one step and a crash leaves one or the other. Reads take no lock (a
rename is atomic). A vault that cannot be decrypted or parsed is reported and never overwritten:
it may be the only copy of a refresh token the user cannot get back without logging in again.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken

from trayauth import faultpoints
from trayauth.domain.errors import VaultError
from trayauth.domain.model import TokenSet
from trayauth.domain.steps import NextStep, StepKind
from trayauth.storage import atomic
from trayauth.storage.locks import locked_write
from trayauth.storage.paths import ensure_root
from trayauth.storage.trust import storage_error

if TYPE_CHECKING:
    from pathlib import Path

    from trayauth.storage.keystore import KeyLocation, KeyStore
    from trayauth.storage.paths import Paths

FORMAT = 1
_VAULT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_LOCK_TIMEOUT = 30.0
# Room a reservation leaves for an entry to grow (a longer JWT, more claims) on top of twice the
# vault's present size: the size of the next write is not known until the provider answers.
RESERVE_SLACK = 64 * 1024


@dataclass(frozen=True, slots=True)
class VaultEntry:
    """One account's secret state. ``repr`` leaves out secrets and tokens (tracebacks, logs)."""

    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    tokens: TokenSet | None = field(default=None, repr=False)
    refresh_in_flight: bool = False
    last_error: str | None = None
    updated_at: float = 0.0
    last_step: NextStep | None = None  # what to do about last_error, as data (never CLI words)
    # Which login these tokens belong to: a fresh id per login, kept by renewals. A renewal that
    # finds another (a logout, or a remove and add, happened meanwhile) drops what it got.
    session: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "secrets": dict(self.secrets),
            "tokens": self.tokens.to_dict() if self.tokens is not None else None,
            "refresh_in_flight": self.refresh_in_flight,
            "last_error": self.last_error,
            "last_step": self.last_step.to_dict() if self.last_step is not None else None,
            "updated_at": self.updated_at,
            "session": self.session,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VaultEntry:
        """Raises ValueError/TypeError/KeyError on a malformed entry (the vault turns it into VaultError)."""
        secrets = data.get("secrets") or {}
        if not isinstance(secrets, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in secrets.items()
        ):
            raise ValueError("secrets must map strings to strings")
        tokens = data.get("tokens")
        if tokens is not None and not isinstance(tokens, dict):
            raise ValueError("tokens must be an object")
        last_error = data.get("last_error")
        return cls(
            secrets=secrets,
            tokens=TokenSet.from_dict(tokens) if tokens is not None else None,
            refresh_in_flight=bool(data.get("refresh_in_flight", False)),
            last_error=str(last_error) if last_error is not None else None,
            last_step=NextStep.from_dict(data.get("last_step")),
            session=str(data["session"]) if isinstance(data.get("session"), str) else None,
            updated_at=float(data.get("updated_at") or 0.0),
        )


class Vault:
    def __init__(self, paths: Paths, keystore: KeyStore) -> None:
        self.paths = paths
        self.keystore = keystore
        self.file = paths.vault_file
        self.lock_path = paths.vault_file.with_suffix(".lock")
        # The last file content we decrypted and its plaintext: the tray reads the vault often
        # and a rename always changes the content (Fernet tokens carry a fresh IV).
        self._cache: tuple[bytes, bytes] | None = None
        # The entries that plaintext holds: parsing them costs ~1 ms per 100 accounts, and the tray
        # reads the vault for every renewal and every scheduler look.
        self._parsed: tuple[bytes, dict[str, VaultEntry]] | None = None
        # Writers in this process (the broker writes from worker threads) queue here rather than
        # polling the file lock, which would cost each of them up to 50 ms per wait.
        self._writing = threading.Lock()
        # Disk space set aside per account for its next write (see ``reserve``).
        self._reserved: dict[str, Path] = {}

    # ---- reading --------------------------------------------------------------------------

    def _untouched(self, problem: str) -> VaultError:
        return VaultError(
            f"{self.file} {problem}; it was left untouched",
            next_step=NextStep.of(StepKind.RESTORE_VAULT, path=str(self.file)),
        )

    def _read_raw(self) -> bytes | None:
        try:
            return self.file.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._untouched(f"cannot be read ({exc.strerror or exc.__class__.__name__})") from None

    def _header(self, raw: bytes) -> tuple[str, bytes]:
        """(vault_id, Fernet token) from the plain part of the file."""
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            raise self._untouched("is not a trayauth vault (not JSON)") from None
        if not isinstance(doc, dict):
            raise self._untouched("is not a trayauth vault")
        fmt = doc.get("format")
        if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > FORMAT:
            raise self._untouched(f"was written by a newer trayauth (format {fmt})")
        vault_id, data = doc.get("vault_id"), doc.get("data")
        exact = type(fmt) is int and fmt == FORMAT  # not `fmt == 1` alone: JSON `true` == 1 too
        if not exact or not isinstance(vault_id, str) or not _VAULT_ID.fullmatch(vault_id):
            raise self._untouched("is not a trayauth vault (bad header)")
        if not isinstance(data, str):
            raise self._untouched("is not a trayauth vault (no data)")
        return vault_id, data.encode("ascii", "replace")

    def _plaintext(self, raw: bytes) -> tuple[str, bytes]:
        vault_id, token = self._header(raw)
        if self._cache is not None and self._cache[0] == raw:
            return vault_id, self._cache[1]
        key = self.keystore.load_key(vault_id)

        try:
            plain = Fernet(key).decrypt(token)
        except InvalidToken:
            raise self._untouched("cannot be decrypted with its key (wrong key or damaged file)") from None
        self._cache = (raw, plain)
        return vault_id, plain

    def _entries(self, plain: bytes) -> dict[str, VaultEntry]:
        try:
            doc = json.loads(plain)
            accounts = doc["accounts"]
            if not isinstance(accounts, dict):
                raise TypeError("accounts")
            return {str(name): VaultEntry.from_dict(body) for name, body in accounts.items()}
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError):
            raise self._untouched("decrypts, but its content is malformed") from None

    def _load(self) -> tuple[str | None, dict[str, VaultEntry]]:
        """The vault's id and a dict of its entries of the caller's own (entries are immutable)."""
        raw = self._read_raw()
        if raw is None:
            return None, {}
        vault_id, plain = self._plaintext(raw)
        parsed = self._parsed
        if parsed is None or parsed[0] != plain:
            parsed = self._parsed = (plain, self._entries(plain))
        return vault_id, dict(parsed[1])

    def read_all(self) -> dict[str, VaultEntry]:
        return self._load()[1]

    def entry(self, name: str) -> VaultEntry:
        """The account's entry; an empty one when the account has nothing stored."""
        return self.read_all().get(name) or VaultEntry()

    def vault_id(self) -> str | None:
        raw = self._read_raw()
        return None if raw is None else self._header(raw)[0]

    def key_location(self) -> KeyLocation:
        return self.keystore.location(self.vault_id())

    def move_key_to_keyring(self) -> KeyLocation:
        """This vault's key from the fallback file into the keyring (see KeyStore.move_to_keyring)."""
        vault_id = self.vault_id()
        if vault_id is None:
            raise VaultError("there is no vault yet, so no key to move")
        return self.keystore.move_to_keyring(vault_id)

    # ---- writing --------------------------------------------------------------------------

    def update(self, name: str, fn: Callable[[VaultEntry], VaultEntry | None]) -> VaultEntry | None:
        """Apply ``fn`` to the account's current entry under the vault lock; None deletes it.

        ``fn`` sees the state as it is on disk now (another process may have changed it), so it
        must not call back into this vault (the lock is not re-entrant across instances).
        """

        with self._writing, locked_write(self.paths.root, self.lock_path, self.file.name, _LOCK_TIMEOUT):
            vault_id, entries = self._load()
            new = fn(entries.get(name) or VaultEntry())
            if new is None:
                if name not in entries:
                    return None  # nothing to delete: don't create a vault (or a key) for it
                del entries[name]
            else:
                entries[name] = new
            self._write(vault_id, entries, reserved=self._reserved.get(name))
            self._reserved.pop(name, None)  # renamed into place: used up
            return new

    def reserve(self, name: str) -> None:
        """Set aside the disk space ``name``'s next write needs, or raise StorageError now.

        Called before a rotating refresh token is sent: once the provider has rotated it, the new
        one must be saved, and a disk that fills up in between must not be able to refuse that.
        The next ``update(name, …)`` writes into the reserved blocks; ``release`` frees them.
        """

        self.release(name)
        try:
            size = self.file.stat().st_size
        except OSError:
            size = 0
        try:
            ensure_root(self.paths.root)
            self._reserved[name] = atomic.reserve_beside(self.file, 2 * size + RESERVE_SLACK)
        except OSError as exc:
            raise storage_error(exc, f"cannot save {self.file.name}") from None

    def begin_rotation(self, name: str) -> None:
        """Before a rotating refresh token is sent: reserve the space to save its successor, then
        mark the refresh in flight (so a crash never resends it). A full disk refuses here, with
        nothing sent and nothing marked."""

        self.reserve(name)
        reserved = self._reserved.pop(name)  # kept for the new tokens, not spent on the mark
        try:
            self.update(name, lambda e: replace(e, refresh_in_flight=True))
        except BaseException:
            atomic.unreserve(reserved)
            raise
        self._reserved[name] = reserved

    def release(self, name: str) -> None:
        """Free a reservation the renewal did not use (it failed before anything was stored)."""

        atomic.unreserve(self._reserved.pop(name, None))

    def remove(self, name: str) -> None:
        self.update(name, lambda _entry: None)

    def _write(
        self, vault_id: str | None, entries: Mapping[str, VaultEntry], *, reserved: Path | None = None
    ) -> None:

        if vault_id is None:
            vault_id = os.urandom(16).hex()
            key = self.keystore.create_key(vault_id)
        else:
            key = self.keystore.load_key(vault_id)
        plain = json.dumps(
            {"accounts": {name: entry.to_dict() for name, entry in entries.items()}},
            separators=(",", ":"),
        ).encode()
        token = Fernet(key).encrypt(plain)
        raw = json.dumps({"format": FORMAT, "vault_id": vault_id, "data": token.decode()}).encode() + b"\n"

        faultpoints.reached("vault:before_write")
        atomic.remove_leftovers(self.file)  # a writer killed mid-write (we hold the lock: none is live)
        atomic.write_atomic(self.file, raw, 0o600, reserved=reserved)
        faultpoints.reached("vault:written")
        self._cache = (raw, plain)
        self._parsed = (plain, dict(entries))
