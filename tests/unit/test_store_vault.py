"""vault.json: secrets and tokens encrypted, updated atomically, never overwritten when unreadable."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import keyring
import keyring.core
import pytest

from trayauth.cli.wording import line as cli_line
from trayauth.domain.errors import KeyringUnavailable, VaultError
from trayauth.domain.model import TokenSet
from trayauth.storage.flock import FileLock
from trayauth.storage.keystore import SERVICE, KeyStore
from trayauth.storage.paths import Paths
from trayauth.storage.vault import Vault, VaultEntry

FILE_BACKEND = "keyrings.alt.file.PlaintextKeyring"


@pytest.fixture
def paths(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FILE_BACKEND)
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # keyring caches its backend choice
    return Paths.from_root(isolated)


def open_vault(paths: Paths) -> Vault:
    return Vault(paths, KeyStore(paths))


def tokens(access: str = "access-abc", refresh: str | None = "refresh-xyz") -> TokenSet:
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        expires_at=2_000_000_000.0,
        obtained_at=1_700_000_000.0,
        scopes=("read", "write"),
        extra={"user_id": "user-0042"},
    )


def logged_in(secret: str = "hunter2", access: str = "access-abc") -> VaultEntry:
    return VaultEntry(secrets={"password": secret}, tokens=tokens(access), updated_at=1.5)


def vault_id(paths: Paths) -> str:
    return str(json.loads(paths.vault_file.read_bytes())["vault_id"])


def test_an_absent_vault_is_empty_and_reading_creates_nothing(paths: Paths) -> None:
    vault = open_vault(paths)
    assert vault.read_all() == {}
    assert vault.entry("w") == VaultEntry(secrets={}, tokens=None)
    vault.remove("w")  # nothing to delete: no vault, and no key, is created for it
    assert not paths.vault_file.exists() and not paths.key_file.exists()
    assert not list(paths.root.parent.glob("data/python_keyring/*"))  # no keyring item either


def test_entries_round_trip_encrypted_in_a_0600_file(paths: Paths) -> None:
    vault = open_vault(paths)
    assert vault.update("w", lambda e: logged_in()) == logged_in()
    raw = paths.vault_file.read_bytes()
    assert stat.S_IMODE(paths.vault_file.stat().st_mode) == 0o600
    for secret in (b"hunter2", b"access-abc", b"refresh-xyz", b"user-0042", b"password"):
        assert secret not in raw
    doc = json.loads(raw)
    assert doc["format"] == 1 and set(doc) == {"format", "vault_id", "data"}
    assert keyring.get_password(SERVICE, f"vault:{doc['vault_id']}")  # the key was made on first write
    again = open_vault(paths).entry("w")
    assert again == logged_in()
    assert again.tokens is not None and again.tokens.scopes == ("read", "write")


def test_the_next_write_removes_what_a_killed_writer_left(paths: Paths) -> None:
    vault = open_vault(paths)
    vault.update("w", lambda e: logged_in())
    leftover = paths.vault_file.with_name(f".{paths.vault_file.name}.0123456789ab.tmp")
    leftover.write_bytes(paths.vault_file.read_bytes())  # as a kill before the rename leaves it
    neighbour = paths.vault_file.with_name(".config.toml.0123456789ab.tmp")  # not the vault's
    neighbour.write_bytes(b"x")
    vault.update("w", lambda e: logged_in(access="access-new"))
    assert not leftover.exists()
    assert neighbour.exists()
    assert open_vault(paths).entry("w") == logged_in(access="access-new")


def test_update_sees_the_current_entry_and_none_deletes(paths: Paths) -> None:
    vault = open_vault(paths)
    vault.update("a", lambda e: logged_in("one"))
    vault.update("b", lambda e: logged_in("two"))
    seen: list[VaultEntry] = []

    def mark(entry: VaultEntry) -> VaultEntry:
        seen.append(entry)
        return replace(entry, refresh_in_flight=True, last_error="renewal failed: 503")

    vault.update("a", mark)
    assert seen == [logged_in("one")]
    assert open_vault(paths).entry("a").refresh_in_flight
    assert open_vault(paths).entry("a").last_error == "renewal failed: 503"
    vault.remove("a")
    assert list(open_vault(paths).read_all()) == ["b"]


def test_a_16_kb_token_stores_and_loads(paths: Paths) -> None:
    big = "eyJ" + "x" * 16_384
    open_vault(paths).update("w", lambda e: VaultEntry(secrets={}, tokens=tokens(big, big[::-1])))
    loaded = open_vault(paths).entry("w").tokens
    assert loaded is not None and loaded.access_token == big and loaded.refresh_token == big[::-1]


def test_repr_never_shows_a_secret(paths: Paths) -> None:
    text = repr(logged_in())
    assert "hunter2" not in text and "access-abc" not in text


def test_the_vault_is_unreadable_without_its_key(paths: Paths, tmp_path: Path) -> None:
    open_vault(paths).update("w", lambda e: logged_in())
    raw = paths.vault_file.read_bytes()
    keyring.delete_password(SERVICE, f"vault:{vault_id(paths)}")
    vault = open_vault(paths)
    with pytest.raises(VaultError, match="missing from the keyring") as info:
        vault.entry("w")
    assert "left untouched" in cli_line(info.value)
    with pytest.raises(VaultError):
        vault.update("other", lambda e: logged_in())
    assert paths.vault_file.read_bytes() == raw


def test_a_wrong_key_is_reported_and_the_vault_left_alone(paths: Paths) -> None:
    open_vault(paths).update("w", lambda e: logged_in())
    raw = paths.vault_file.read_bytes()
    keyring.set_password(
        SERVICE, f"vault:{vault_id(paths)}", KeyStore(paths).create_key("someone-else").decode()
    )
    vault = open_vault(paths)
    with pytest.raises(VaultError, match="cannot be decrypted") as info:
        vault.read_all()
    assert str(paths.vault_file) in cli_line(info.value) and "untouched" in cli_line(info.value)
    with pytest.raises(VaultError):
        vault.update("w", lambda e: None)
    with pytest.raises(VaultError):
        vault.remove("w")
    assert paths.vault_file.read_bytes() == raw


def _tamper(raw: bytes) -> bytes:
    doc = json.loads(raw)
    data = doc["data"]
    doc["data"] = data[:40] + ("A" if data[40] != "A" else "B") + data[41:]
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("corrupt", "problem"),
    [
        (lambda raw: b"", "not JSON"),
        (lambda raw: raw[: len(raw) // 2], "not JSON"),
        (lambda raw: b"[1, 2]", "not a trayauth vault"),
        (lambda raw: raw.replace(b'"format": 1', b'"format": 7'), "newer trayauth"),
        (lambda raw: raw.replace(b'"vault_id": "', b'"vault_id": "../'), "bad header"),
        (_tamper, "cannot be decrypted"),
    ],
)
def test_a_damaged_vault_is_never_overwritten(paths: Paths, corrupt: object, problem: str) -> None:
    open_vault(paths).update("w", lambda e: logged_in())
    raw = corrupt(paths.vault_file.read_bytes())  # type: ignore[operator]
    paths.vault_file.write_bytes(raw)
    vault = open_vault(paths)
    with pytest.raises(VaultError, match=problem) as info:
        vault.entry("w")
    line = cli_line(info.value)
    assert "\n" not in line and str(paths.vault_file) in line and "left untouched" in line
    with pytest.raises(VaultError):
        vault.update("w", lambda e: logged_in("new"))
    assert paths.vault_file.read_bytes() == raw


def test_malformed_content_under_a_good_key_is_reported(paths: Paths) -> None:
    from cryptography.fernet import Fernet

    open_vault(paths).update("w", lambda e: logged_in())
    vid = vault_id(paths)
    key = KeyStore(paths).load_key(vid)
    for plain in (b"not json", b'{"accounts": []}', b'{"accounts": {"w": {"tokens": {"no_access": 1}}}}'):
        data = Fernet(key).encrypt(plain).decode()
        paths.vault_file.write_text(json.dumps({"format": 1, "vault_id": vid, "data": data}))
        with pytest.raises(VaultError, match="malformed"):
            open_vault(paths).read_all()


def test_a_locked_keyring_is_not_a_damaged_vault(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    open_vault(paths).update("w", lambda e: logged_in())
    raw = paths.vault_file.read_bytes()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    with pytest.raises(KeyringUnavailable):
        open_vault(paths).update("w", lambda e: None)
    assert paths.vault_file.read_bytes() == raw


def test_readers_see_other_writers(paths: Paths) -> None:
    reader, writer = open_vault(paths), open_vault(paths)
    writer.update("w", lambda e: logged_in(access="first"))
    assert reader.entry("w") == logged_in(access="first")
    writer.update("w", lambda e: logged_in(access="first"))  # same content, fresh ciphertext
    writer.update("w", lambda e: logged_in(access="second"))
    assert reader.entry("w") == logged_in(access="second")


def test_reads_take_no_lock(paths: Paths) -> None:
    open_vault(paths).update("w", lambda e: logged_in())
    with FileLock(paths.root / "vault.lock", timeout=0):
        started = time.monotonic()
        assert open_vault(paths).entry("w") == logged_in()
        assert time.monotonic() - started < 1.0


def test_the_key_location_is_reported(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = open_vault(paths)
    assert vault.key_location().kind == "keyring"  # where a new vault's key would go
    vault.update("w", lambda e: logged_in())
    assert vault.key_location().description == "system keyring (file PlaintextKeyring)"
    monkeypatch.setenv("TRAYAUTH_KEY_STORAGE", "file")
    other = Paths.from_root(paths.root.parent / "other")
    open_vault(other).update("w", lambda e: logged_in())
    assert open_vault(other).key_location().fallback


UPDATER = """
import sys
from dataclasses import replace
from pathlib import Path
from trayauth.storage.keystore import KeyStore
from trayauth.domain.model import TokenSet
from trayauth.storage.paths import Paths
from trayauth.storage.vault import Vault, VaultEntry

paths = Paths.from_root(Path(sys.argv[1]))
me, rounds = sys.argv[2], int(sys.argv[3])
vault = Vault(paths, KeyStore(paths))

def bump(entry):
    n = int(entry.secrets.get("n", "0")) + 1
    return replace(entry, secrets={**entry.secrets, "n": str(n)}, tokens=TokenSet(f"{me}-{n}"))

for _ in range(rounds):
    vault.update(me, bump)
    vault.update("shared", bump)
"""


@pytest.mark.parametrize("storage", ["keyring", "file"])
def test_concurrent_processes_lose_no_update(
    paths: Paths, monkeypatch: pytest.MonkeyPatch, storage: str
) -> None:
    if storage == "file":
        monkeypatch.setenv("TRAYAUTH_KEY_STORAGE", "file")
    procs, rounds = 4, 8
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", UPDATER, str(paths.root), f"p{n}", str(rounds)], stderr=subprocess.PIPE
        )
        for n in range(procs)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err.decode()
    entries = open_vault(paths).read_all()
    assert sorted(entries) == sorted([*(f"p{n}" for n in range(procs)), "shared"])
    for n in range(procs):
        assert entries[f"p{n}"].secrets["n"] == str(rounds)
        assert entries[f"p{n}"].tokens == TokenSet(f"p{n}-{rounds}")
    assert entries["shared"].secrets["n"] == str(procs * rounds)  # every read-modify-write was serialised
    assert [p.name for p in paths.root.iterdir() if p.name.endswith(".tmp")] == []
