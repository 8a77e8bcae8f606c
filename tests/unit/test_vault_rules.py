"""The vault's refusals: what it will not open, what it will not store, and the lock it writes under.

A vault that is not exactly what trayauth wrote is refused and left as it is, so the only copy of
a refresh token is never overwritten by a guess. Each test crafts the file with the real key.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
from pathlib import Path
from typing import Any

import keyring.core
import pytest
from cryptography.fernet import Fernet

from trayauth.domain.errors import TrayauthError, VaultError
from trayauth.domain.model import TokenSet
from trayauth.storage import vault as vault_module
from trayauth.storage.keystore import KeyStore
from trayauth.storage.paths import Paths
from trayauth.storage.vault import Vault, VaultEntry


@pytest.fixture
def paths(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    return Paths.from_root(isolated)


@pytest.fixture
def written(paths: Paths) -> Vault:
    """A vault with one good account, as trayauth writes it."""
    vault = Vault(paths, KeyStore(paths))
    vault.update("w", lambda e: VaultEntry(secrets={"password": "hunter2"}, tokens=TokenSet("access-abc")))
    return vault


def _rewrite_header(paths: Paths, **changes: Any) -> bytes:
    doc = json.loads(paths.vault_file.read_bytes())
    for key, value in changes.items():
        if value is _DROP:
            doc.pop(key)
        else:
            doc[key] = value
    raw = json.dumps(doc).encode()
    paths.vault_file.write_bytes(raw)
    return raw


_DROP = object()


@pytest.mark.parametrize("fmt", [_DROP, 0, "1", True, None, 1.5])
def test_a_vault_without_its_format_marker_is_refused_and_untouched(
    paths: Paths, written: Vault, fmt: object
) -> None:
    raw = _rewrite_header(paths, format=fmt)
    with pytest.raises(VaultError, match="not a trayauth vault"):
        Vault(paths, KeyStore(paths)).read_all()
    with pytest.raises(VaultError):
        Vault(paths, KeyStore(paths)).update("w", lambda e: e)
    assert paths.vault_file.read_bytes() == raw


def test_a_vault_from_a_newer_trayauth_is_refused_by_name(paths: Paths, written: Vault) -> None:
    _rewrite_header(paths, format=2)
    with pytest.raises(VaultError, match="newer trayauth"):
        Vault(paths, KeyStore(paths)).read_all()


def _encrypt_accounts(paths: Paths, accounts: object) -> None:
    """Replace the vault's content with ``accounts``, encrypted with its real key."""
    doc = json.loads(paths.vault_file.read_bytes())
    key = KeyStore(paths).load_key(doc["vault_id"])
    doc["data"] = Fernet(key).encrypt(json.dumps({"accounts": accounts}).encode()).decode()
    paths.vault_file.write_bytes(json.dumps(doc).encode())


@pytest.mark.parametrize(
    "body",
    [
        {"secrets": {"password": 5}},
        {"secrets": {"password": ["hunter2"]}},
        {"secrets": {"5": None}},
        {"secrets": ["password", "hunter2"]},
        {"secrets": {}, "tokens": "access-abc"},
        {"secrets": {}, "tokens": ["access-abc"]},
        {"secrets": {}, "tokens": {"refresh_token": "no access token"}},
    ],
)
def test_an_entry_of_the_wrong_shape_is_refused_not_half_read(
    paths: Paths, written: Vault, body: dict[str, Any]
) -> None:
    _encrypt_accounts(paths, {"w": body})
    raw = paths.vault_file.read_bytes()
    with pytest.raises(VaultError, match="malformed"):
        Vault(paths, KeyStore(paths)).entry("w")
    assert paths.vault_file.read_bytes() == raw


def test_an_entry_that_never_said_so_has_no_refresh_in_flight(paths: Paths, written: Vault) -> None:
    """Defaulting to "in flight" would make every such account's refresh token count as spent."""
    _encrypt_accounts(paths, {"w": {"secrets": {}, "tokens": {"access_token": "a", "refresh_token": "r"}}})
    entry = Vault(paths, KeyStore(paths)).entry("w")
    assert entry.refresh_in_flight is False
    assert entry.tokens is not None and entry.tokens.refresh_token == "r"
    assert VaultEntry().refresh_in_flight is False


def test_writes_take_a_private_lock_beside_the_vault(paths: Paths, written: Vault) -> None:
    lock = paths.vault_file.with_name("vault.lock")
    assert lock.exists()
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600


def test_a_writer_gives_up_with_a_clear_error_while_another_holds_the_lock(
    paths: Paths, written: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault_module, "_LOCK_TIMEOUT", 0.2)
    fd = os.open(paths.vault_file.with_name("vault.lock"), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as another trayauth process mid-write holds it
        before = paths.vault_file.read_bytes()
        with pytest.raises(TrayauthError, match="held by another trayauth process"):
            Vault(paths, KeyStore(paths)).update("w", lambda e: VaultEntry())
        assert paths.vault_file.read_bytes() == before
    finally:
        os.close(fd)
    Vault(paths, KeyStore(paths)).update("w", lambda e: VaultEntry())  # free again: it goes through
