"""Where the vault key lives: one keyring item, or a 0600 key file when no keyring works.

Only this small key goes to the keyring (Windows caps a credential at 2,560 bytes; long JWTs do
not fit, and one item means one unlock prompt). The keyring username carries the vault's random
id, so two config directories never share or clobber each other's key. Falling back to a file
is never silent: :class:`KeyLocation` says where the key is and why, for ``login``, ``list``,
``status`` and the tray to show.

``keyring`` costs ~100 ms to import, so it is imported only when the key really is in the
keyring; a key file is read without it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from trayauth.domain.errors import KeyringUnavailable, UsageError, VaultError
from trayauth.domain.steps import NextStep, StepKind
from trayauth.storage import atomic
from trayauth.storage.paths import ensure_root
from trayauth.storage.trust import check_private

if TYPE_CHECKING:
    from trayauth.storage.paths import Paths

SERVICE = "trayauth"
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")  # a vault id, safe inside a file name
KEY_STORAGE_ENV = "TRAYAUTH_KEY_STORAGE"
_MODES = ("auto", "keyring", "file")
_KEY_FILE_FORMAT = 1


@dataclass(frozen=True, slots=True)
class KeyLocation:
    """Where the vault key is (or would go); ``fallback`` means "a file, because no keyring"."""

    kind: Literal["keyring", "file"]
    description: str
    fallback: bool


@dataclass(frozen=True, slots=True)
class _KeyFile:
    vault_id: str
    key: bytes
    reason: str


def keyring_username(vault_id: str) -> str:
    return f"vault:{vault_id}"


def new_key() -> bytes:
    """A Fernet key: 32 random bytes, urlsafe base64 (what ``Fernet.generate_key`` makes)."""
    return base64.urlsafe_b64encode(os.urandom(32))


def _valid_key(key: bytes) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key)) == 32 and len(key) == 44
    except (binascii.Error, ValueError):
        return False


def _reason(exc: BaseException, secret: bytes | None = None) -> str:
    """One short line about a keyring failure (a foreign exception; never let it carry the key)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if secret:
        text = text.replace(secret.decode(), "…")
    text = text[:160]
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


class KeyStore:
    """Loads, creates and deletes the vault key; remembers it for the life of the process."""

    def __init__(self, paths: Paths, *, storage: str | None = None) -> None:
        self.paths = paths
        self._storage = storage
        self._keys: dict[str, bytes] = {}

    # ---- policy ---------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """auto (keyring, else file), keyring (never a file), or file (``TRAYAUTH_KEY_STORAGE``)."""
        value = (self._storage if self._storage is not None else os.environ.get(KEY_STORAGE_ENV, "")).strip()
        mode = value.lower() or "auto"
        if mode not in _MODES:
            raise UsageError(
                f"{KEY_STORAGE_ENV}={value!r} is not one of {', '.join(_MODES)}",
                next_step=NextStep.of(StepKind.CHOOSE_KEY_STORAGE, keys=(KEY_STORAGE_ENV,)),
            )
        return mode

    def _file_location(self, reason: str) -> KeyLocation:
        return KeyLocation("file", f"key file {self.paths.key_file} ({reason})", fallback=True)

    # ---- the key file ---------------------------------------------------------------------

    def _aside_file(self, vault_id: str) -> Path:
        """Where the key of a vault that is not the current one is kept: the name says which."""
        return self.paths.key_file.with_name(f"vault.{vault_id}.key")

    def _read_key_file(self, path: Path | None = None) -> _KeyFile | None:
        """The key file's content; None when absent or not a key file of ours."""

        path = self.paths.key_file if path is None else path
        check_private(path, "the vault key file", secret=True)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise VaultError(f"cannot read the key file {path}: {exc.strerror}") from None
        try:
            data = json.loads(raw)
            key = str(data["key"]).encode("ascii")
            found = _KeyFile(str(data["vault_id"]), key, str(data.get("reason") or "no system keyring"))
        except (ValueError, KeyError, TypeError, UnicodeEncodeError, RecursionError):
            return None
        return found if _valid_key(found.key) else None

    def _key_file_of(self, vault_id: str) -> _KeyFile | None:
        """The key file that opens ``vault_id``: the current one, or one kept aside for it."""
        current = self._read_key_file()
        if current is not None and current.vault_id == vault_id:
            return current
        if not _SAFE_ID.fullmatch(vault_id):
            return None
        aside = self._read_key_file(self._aside_file(vault_id))
        return aside if aside is not None and aside.vault_id == vault_id else None

    def _write_key_file(self, vault_id: str, key: bytes, reason: str) -> None:
        """Write the new vault's key file; a key file of another vault is kept aside, never lost
        (the vault it opens may just have been moved away, to be put back later)."""

        ensure_root(self.paths.root)
        current = self._read_key_file()
        if current is not None and current.vault_id != vault_id and _SAFE_ID.fullmatch(current.vault_id):
            aside = self._aside_file(current.vault_id)
            if self._read_key_file(aside) is None:
                aside.unlink(missing_ok=True)  # not a key file of ours (a torn copy): make room
                os.link(self.paths.key_file, aside)  # a second name first: never a moment without it
        body = {"format": _KEY_FILE_FORMAT, "vault_id": vault_id, "key": key.decode(), "reason": reason}
        atomic.write_atomic(self.paths.key_file, json.dumps(body).encode() + b"\n", 0o600)

    # ---- the keyring ----------------------------------------------------------------------

    def _backend(self) -> tuple[Any, str | None]:
        """The keyring backend PYTHON_KEYRING_BACKEND (or keyring's own choice) selects.

        Returns (backend, None) when usable, (None, reason) when keyring has nothing that works.
        """
        try:
            import keyring
            from keyring.backends import chainer, fail

            backend = keyring.get_keyring()
        except Exception as exc:  # a foreign boundary: a broken backend may raise anything
            return None, _reason(exc)
        if isinstance(backend, fail.Keyring):
            return None, "keyring found no usable backend"
        if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
            return None, "keyring found no usable backend"
        return backend, None

    @staticmethod
    def _backend_name(backend: Any) -> str:
        return str(getattr(backend, "name", None) or backend.__class__.__name__)

    def _keyring_location(self, backend: Any) -> KeyLocation:
        return KeyLocation("keyring", f"system keyring ({self._backend_name(backend)})", fallback=False)

    # ---- API ------------------------------------------------------------------------------

    def load_key(self, vault_id: str) -> bytes:
        """The key of an existing vault. Never creates one: a missing key is an error."""
        cached = self._keys.get(vault_id)
        if cached is not None:
            return cached
        keep = f"{self.paths.vault_file} was left untouched"
        key_file = self._key_file_of(vault_id)
        if key_file is not None:
            key = key_file.key
        elif self.mode == "file":
            raise VaultError(
                f"the vault key is not in {self.paths.key_file} ({KEY_STORAGE_ENV}=file); {keep}",
                next_step=NextStep.of(StepKind.RESTORE_KEY, keys=(KEY_STORAGE_ENV,)),
            )
        else:
            key = self._load_from_keyring(vault_id, keep)
        if not _valid_key(key):
            raise VaultError(f"the vault key for {self.paths.vault_file} is malformed; {keep}")
        self._keys[vault_id] = key
        return key

    def _load_from_keyring(self, vault_id: str, keep: str) -> bytes:
        backend, problem = self._backend()
        if backend is None:
            raise KeyringUnavailable(
                f"the vault key is in the keyring, and no keyring works here ({problem}); {keep}",
                next_step=NextStep.of(StepKind.START_KEYRING),
            )
        try:
            value = backend.get_password(SERVICE, keyring_username(vault_id))
        except Exception as exc:  # a foreign boundary (D-Bus, a locked keychain, …)
            raise KeyringUnavailable(
                f"cannot read the vault key from the keyring ({_reason(exc)}); {keep}",
                next_step=NextStep.of(StepKind.UNLOCK_KEYRING),
            ) from None
        if value is None:
            where = f"the keyring ({self._backend_name(backend)})"
            if self.paths.key_file.exists():
                where += f" and from {self.paths.key_file}"
            raise VaultError(
                f"the vault key is missing from {where}; {keep}",
                next_step=NextStep.of(StepKind.RESTORE_KEY),
            )
        return str(value).encode("ascii", "replace")

    def create_key(self, vault_id: str) -> bytes:
        """A new key for a new vault: in the keyring when one works (verified), else in the file."""
        key = new_key()
        mode = self.mode
        if mode == "file":
            self._write_key_file(vault_id, key, f"{KEY_STORAGE_ENV}=file")
        else:
            problem = self._store_in_keyring(vault_id, key)
            if problem is not None:
                if mode == "keyring":
                    raise KeyringUnavailable(
                        f"cannot keep the vault key in the keyring ({problem})",
                        next_step=NextStep.of(StepKind.ALLOW_KEY_FILE, keys=(KEY_STORAGE_ENV,)),
                    )
                self._write_key_file(vault_id, key, f"no system keyring: {problem}")
        self._keys[vault_id] = key
        return key

    def _store_in_keyring(self, vault_id: str, key: bytes) -> str | None:
        """Store and read back; None on success, else why not (the item is not left behind)."""
        backend, problem = self._backend()
        if backend is None:
            return problem
        username = keyring_username(vault_id)
        try:
            backend.set_password(SERVICE, username, key.decode())
            stored = backend.get_password(SERVICE, username)
        except Exception as exc:  # a foreign boundary
            return _reason(exc, key)
        if stored == key.decode():
            return None
        with contextlib.suppress(Exception):  # best effort: a keyring that cannot read back may not delete
            backend.delete_password(SERVICE, username)
        return f"{self._backend_name(backend)} did not return the key it was given"

    def keyring_available(self) -> bool:
        """Whether a keyring could take the key now (asks keyring which backend, reads nothing)."""
        return self.mode != "file" and self._backend()[0] is not None

    def move_to_keyring(self, vault_id: str) -> KeyLocation:
        """Move a key that fell back to the file (no keyring then, a dismissed or locked prompt)
        into the keyring now that one works: stored and read back first, the file removed only
        after, so there is never a moment without the key."""
        if self.mode == "file":
            raise KeyringUnavailable(f"{KEY_STORAGE_ENV}=file keeps the key in the file")
        key_file = self._read_key_file()
        if key_file is None or key_file.vault_id != vault_id:
            raise VaultError("the vault key is not in the key file, so there is nothing to move")
        problem = self._store_in_keyring(vault_id, key_file.key)
        if problem is not None:
            raise KeyringUnavailable(
                f"the keyring did not take the key ({problem})",
                next_step=NextStep.of(StepKind.UNLOCK_KEYRING),
            )
        self.paths.key_file.unlink(missing_ok=True)
        self._keys[vault_id] = key_file.key
        return self.location(vault_id)

    def delete_key(self, vault_id: str) -> None:
        """Forget the key everywhere we may have put it (missing is fine)."""
        self._keys.pop(vault_id, None)
        key_file = self._read_key_file()
        if key_file is not None and key_file.vault_id == vault_id:
            self.paths.key_file.unlink(missing_ok=True)
        if _SAFE_ID.fullmatch(vault_id):
            self._aside_file(vault_id).unlink(missing_ok=True)
        if self.mode == "file":
            return
        backend, _problem = self._backend()
        if backend is None:
            return
        with contextlib.suppress(Exception):  # PasswordDeleteError when absent: nothing to do
            backend.delete_password(SERVICE, keyring_username(vault_id))

    def location(self, vault_id: str | None) -> KeyLocation:
        """Where the key of ``vault_id`` is, or where a new vault's key would go (None).

        Cheap: reads the key file or asks keyring which backend it uses; never reads the item
        (which could pop up an unlock prompt).
        """
        if self.mode == "file":
            return self._file_location(f"{KEY_STORAGE_ENV}=file")
        key_file = self._key_file_of(vault_id) if vault_id is not None else None
        if key_file is not None:
            return self._file_location(key_file.reason)
        backend, problem = self._backend()
        if backend is None:
            if vault_id is not None or self.mode == "keyring":
                # The key of an existing vault that is not in the file can only be in the keyring.
                return KeyLocation("keyring", f"system keyring (unavailable here: {problem})", fallback=False)
            return self._file_location(f"no system keyring: {problem}")
        return self._keyring_location(backend)
