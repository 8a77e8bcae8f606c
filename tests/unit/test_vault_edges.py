"""The vault's quieter promises: one key for the vault's whole life, the keyring asked once per
change rather than on every read, entries that read back exactly, damaged files named in words,
and crash-test kill points that stop a write on the right side of the rename.
"""

from __future__ import annotations

import json
from pathlib import Path

import keyring.core
import pytest

from trayauth import faultpoints
from trayauth.domain.errors import VaultError
from trayauth.domain.model import TokenSet
from trayauth.storage.keystore import KeyStore
from trayauth.storage.paths import Paths
from trayauth.storage.vault import Vault, VaultEntry


@pytest.fixture
def paths(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    return Paths.from_root(isolated)


class CountingKeyStore(KeyStore):
    """The real key store, counting how often the key is fetched (each may be a keyring prompt)."""

    loads = 0

    def load_key(self, vault_id: str) -> bytes:
        self.loads += 1
        return super().load_key(vault_id)


def _entry(secret: str = "hunter2") -> VaultEntry:
    return VaultEntry(
        secrets={"password": secret}, tokens=TokenSet("access-abc", "refresh-r"), updated_at=5.0
    )


def test_the_vault_keeps_one_id_and_key_across_changes(paths: Paths) -> None:
    vault = Vault(paths, KeyStore(paths))
    vault.update("a", lambda e: _entry())
    first = json.loads(paths.vault_file.read_bytes())["vault_id"]
    assert vault.vault_id() == first
    vault.update("b", lambda e: _entry("other"))
    vault.update("a", lambda e: None)
    assert json.loads(paths.vault_file.read_bytes())["vault_id"] == first
    assert Vault(paths, KeyStore(paths)).vault_id() == first
    assert Vault(paths, KeyStore(paths)).entry("b").secrets == {"password": "other"}


def test_a_vault_not_yet_written_has_no_id(paths: Paths) -> None:
    assert Vault(paths, KeyStore(paths)).vault_id() is None


def test_reads_of_an_unchanged_vault_fetch_the_key_once(paths: Paths) -> None:
    Vault(paths, KeyStore(paths)).update("a", lambda e: _entry())
    keys = CountingKeyStore(paths)
    vault = Vault(paths, keys)
    for _ in range(3):
        assert vault.entry("a").secrets == {"password": "hunter2"}
    assert keys.loads == 1


def test_after_its_own_write_the_vault_reads_without_fetching_the_key_again(paths: Paths) -> None:
    Vault(paths, KeyStore(paths)).update("a", lambda e: _entry())
    keys = CountingKeyStore(paths)
    vault = Vault(paths, keys)
    written = vault.update("a", lambda e: _entry("changed"))
    loads = keys.loads
    again = vault.entry("a")
    assert again == written and again.secrets == {"password": "changed"}
    assert keys.loads == loads
    assert again is written  # nor parsed again: the tray reads the vault for every look


def test_a_changed_file_is_read_afresh(paths: Paths) -> None:
    mine = Vault(paths, KeyStore(paths))
    mine.update("a", lambda e: _entry())
    assert mine.entry("a").secrets == {"password": "hunter2"}
    Vault(paths, KeyStore(paths)).update("a", lambda e: _entry("from another process"))
    assert mine.entry("a").secrets == {"password": "from another process"}


def test_an_entry_reads_back_exactly(paths: Paths) -> None:
    entry = VaultEntry(secrets={"api_key": "k"}, refresh_in_flight=True, last_error="boom", updated_at=7.5)
    Vault(paths, KeyStore(paths)).update("s", lambda e: entry)
    assert Vault(paths, KeyStore(paths)).entry("s") == entry


def test_an_entry_with_only_some_fields_gets_the_plain_defaults() -> None:
    assert VaultEntry.from_dict({}) == VaultEntry()
    assert VaultEntry.from_dict({"secrets": {"k": "v"}}).tokens is None
    assert VaultEntry.from_dict({"updated_at": None}).updated_at == 0.0


@pytest.mark.parametrize("tokens", [["access-abc"], "access-abc", 5])
def test_tokens_that_are_not_an_object_are_a_value_error(tokens: object) -> None:
    with pytest.raises(ValueError, match="tokens must be an object"):
        VaultEntry.from_dict({"tokens": tokens})


def _header(paths: Paths) -> dict[str, object]:
    doc = json.loads(paths.vault_file.read_bytes())
    assert isinstance(doc, dict)
    return doc


def test_a_data_field_that_is_not_ascii_is_undecryptable_not_a_crash(paths: Paths) -> None:
    Vault(paths, KeyStore(paths)).update("a", lambda e: _entry())
    doc = _header(paths)
    doc["data"] = "gAAAAé" + str(doc["data"])[6:]
    paths.vault_file.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(VaultError) as info:
        Vault(paths, KeyStore(paths)).read_all()
    assert info.value.message == (
        f"{paths.vault_file} cannot be decrypted with its key (wrong key or damaged file); "
        "it was left untouched"
    )


def test_a_vault_path_that_cannot_be_read_says_why(paths: Paths) -> None:
    paths.vault_file.parent.mkdir(parents=True, exist_ok=True)
    paths.vault_file.mkdir()
    with pytest.raises(VaultError) as info:
        Vault(paths, KeyStore(paths)).read_all()
    assert info.value.message == f"{paths.vault_file} cannot be read (Is a directory); it was left untouched"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"data": 5}, "is not a trayauth vault (no data)"),
        ({"vault_id": "short"}, "is not a trayauth vault (bad header)"),
    ],
)
def test_a_damaged_header_is_named(paths: Paths, change: dict[str, object], words: str) -> None:
    Vault(paths, KeyStore(paths)).update("a", lambda e: _entry())
    doc = _header(paths)
    doc.update(change)
    paths.vault_file.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(VaultError) as info:
        Vault(paths, KeyStore(paths)).read_all()
    assert info.value.message == f"{paths.vault_file} {words}; it was left untouched"


class Died(BaseException):
    """Raised instead of SIGKILL at a kill point."""


@pytest.mark.parametrize(
    ("point", "saved"), [("vault:before_write", "hunter2"), ("vault:written", "changed")]
)
def test_a_kill_point_stops_the_write_on_its_side_of_the_rename(
    paths: Paths, monkeypatch: pytest.MonkeyPatch, point: str, saved: str
) -> None:
    Vault(paths, KeyStore(paths)).update("a", lambda e: _entry())

    def die() -> None:
        raise Died(point)

    monkeypatch.setattr(faultpoints, "_die", die)
    monkeypatch.setattr(faultpoints, "_visits", {})
    monkeypatch.setenv(faultpoints.ENV, point)
    with pytest.raises(Died):
        Vault(paths, KeyStore(paths)).update("a", lambda e: _entry("changed"))
    monkeypatch.delenv(faultpoints.ENV)
    assert Vault(paths, KeyStore(paths)).entry("a").secrets == {"password": saved}
