"""The vault's quieter promises: one key for the vault's whole life, the keyring asked once per
change rather than on every read, entries that read back exactly, damaged files named in words,
and crash-test kill points that stop a write on the right side of the rename.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring.core
import pytest

from trayauth import faultpoints
from trayauth.domain.errors import StorageError, TrayauthError, VaultError
from trayauth.domain.model import TokenSet
from trayauth.domain.steps import NextStep, StepKind
from trayauth.storage.atomic import RESERVE_SUFFIX
from trayauth.storage.keystore import KeyStore
from trayauth.storage.paths import Paths
from trayauth.storage.vault import RESERVE_SLACK, Vault, VaultEntry


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


# ---- what to do next, as data; the space a rotating refresh reserves -------------------------------


def test_a_damaged_vault_says_which_file_to_restore(paths: Paths) -> None:
    paths.vault_file.parent.mkdir(parents=True, exist_ok=True)
    paths.vault_file.write_text("not json")
    with pytest.raises(VaultError) as info:
        Vault(paths, KeyStore(paths)).read_all()
    assert info.value.next_step == NextStep.of(StepKind.RESTORE_VAULT, path=str(paths.vault_file))


def test_a_held_lock_says_which_lock_file(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    from trayauth.storage import vault as vault_module

    Vault(paths, KeyStore(paths)).update("a", lambda e: _entry())
    monkeypatch.setattr(vault_module, "_LOCK_TIMEOUT", 0.1)
    lock = paths.vault_file.with_name("vault.lock")
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(TrayauthError) as info:
            Vault(paths, KeyStore(paths)).update("a", lambda e: e)
    finally:
        os.close(fd)
    assert info.value.next_step == NextStep.of(StepKind.STALE_LOCK, path=str(lock))


def test_the_next_step_of_a_failure_is_stored_and_read_back(paths: Paths) -> None:
    step = NextStep.log_in("a")
    Vault(paths, KeyStore(paths)).update("a", lambda e: VaultEntry(last_error="boom", last_step=step))
    entry = Vault(paths, KeyStore(paths)).entry("a")
    assert (entry.last_error, entry.last_step) == ("boom", step)
    assert VaultEntry.from_dict(VaultEntry().to_dict()).last_step is None


def _reservations(paths: Paths) -> list[Path]:
    return sorted(paths.vault_file.parent.glob(f".{paths.vault_file.name}.*{RESERVE_SUFFIX}"))


def test_a_rotation_reserves_twice_the_vault_and_marks_the_refresh_in_flight(paths: Paths) -> None:
    vault = Vault(paths, KeyStore(paths))
    vault.update("a", lambda e: _entry())
    size = paths.vault_file.stat().st_size
    vault.begin_rotation("a")
    (reserved,) = _reservations(paths)
    assert reserved.stat().st_size == 2 * size + RESERVE_SLACK
    assert Vault(paths, KeyStore(paths)).entry("a").refresh_in_flight is True
    vault.update("a", lambda e: _entry("rotated"))  # the successor goes into the reserved blocks
    assert _reservations(paths) == []
    assert Vault(paths, KeyStore(paths)).entry("a").secrets == {"password": "rotated"}


def test_a_reservation_of_a_vault_not_yet_written_is_the_slack(paths: Paths) -> None:
    vault = Vault(paths, KeyStore(paths))
    vault.reserve("a")
    (reserved,) = _reservations(paths)
    assert reserved.stat().st_size == RESERVE_SLACK
    vault.reserve("a")  # again: the first one is given back, not leaked
    assert len(_reservations(paths)) == 1
    vault.release("a")
    assert _reservations(paths) == []
    vault.release("a")


def test_a_reservation_is_for_its_own_account(paths: Paths) -> None:
    vault = Vault(paths, KeyStore(paths))
    vault.update("a", lambda e: _entry())
    vault.reserve("a")
    vault.update("b", lambda e: _entry("other"))  # another account's write does not use it
    assert len(_reservations(paths)) == 1
    vault.release("a")
    assert _reservations(paths) == []


def test_a_full_disk_refuses_the_rotation_before_anything_is_marked(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from trayauth.storage import atomic

    vault = Vault(paths, KeyStore(paths))
    vault.update("a", lambda e: _entry())

    def full(path: Path, size: int) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "reserve_beside", full)
    with pytest.raises(StorageError) as info:
        vault.begin_rotation("a")
    assert info.value.message == "cannot save vault.json: disk full"
    assert Vault(paths, KeyStore(paths)).entry("a").refresh_in_flight is False


def test_a_failed_mark_gives_the_reservation_back(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = Vault(paths, KeyStore(paths))
    vault.update("a", lambda e: _entry())

    def broken(name: str, fn: object) -> None:
        raise StorageError("cannot save vault.json: disk full")

    monkeypatch.setattr(vault, "update", broken)
    with pytest.raises(StorageError):
        vault.begin_rotation("a")
    assert _reservations(paths) == []


def test_a_write_the_disk_refuses_is_said_in_words(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from trayauth.storage import atomic

    vault = Vault(paths, KeyStore(paths))
    vault.update("a", lambda e: _entry())

    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic, "write_atomic", read_only)
    with pytest.raises(StorageError) as info:
        vault.update("a", lambda e: _entry("new"))
    assert info.value.message == "cannot save vault.json: the config folder is read-only"
