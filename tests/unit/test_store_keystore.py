"""The vault key: one keyring item, or a 0600 key file that the app owns up to."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend

from trayauth.cli.wording import line as cli_line
from trayauth.domain.errors import KeyringUnavailable, UsageError, VaultError
from trayauth.storage.keystore import SERVICE, KeyLocation, KeyStore
from trayauth.storage.paths import Paths

FILE_BACKEND = "keyrings.alt.file.PlaintextKeyring"
FAIL_BACKEND = "keyring.backends.fail.Keyring"
VID = "0123456789abcdef0123456789abcdef"


def use_backend(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Select a backend the way users do (PYTHON_KEYRING_BACKEND); keyring caches its choice."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", name)
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)


@pytest.fixture
def paths(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    use_backend(monkeypatch, FILE_BACKEND)
    return Paths.from_root(isolated)


class RaisingKeyring(KeyringBackend):
    """Like a SecretService whose D-Bus call fails, with the password in its message."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"cannot store {password}\nsecond line")

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("no")


class ForgetfulKeyring(KeyringBackend):
    """Accepts a password and then does not return it (seen with some locked keychains)."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        pass

    def delete_password(self, service: str, username: str) -> None:
        pass


def key_file_mode(paths: Paths) -> int:
    return stat.S_IMODE(paths.key_file.stat().st_mode)


def test_the_key_is_one_keyring_item(paths: Paths) -> None:
    key = KeyStore(paths).create_key(VID)
    assert len(key) == 44
    assert keyring.get_password(SERVICE, f"vault:{VID}") == key.decode()
    assert not paths.key_file.exists()
    assert KeyStore(paths).load_key(VID) == key
    assert KeyStore(paths).location(VID) == KeyLocation(
        "keyring", "system keyring (file PlaintextKeyring)", fallback=False
    )


def test_no_keyring_falls_back_to_a_0600_file_and_says_why(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_backend(monkeypatch, FAIL_BACKEND)
    key = KeyStore(paths).create_key(VID)
    assert key_file_mode(paths) == 0o600
    location = KeyStore(paths).location(VID)
    assert location.kind == "file" and location.fallback
    assert str(paths.key_file) in location.description
    assert "no system keyring" in location.description
    assert key.decode() not in location.description
    assert KeyStore(paths).load_key(VID) == key


def test_forced_file_storage(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAYAUTH_KEY_STORAGE", "file")
    key = KeyStore(paths).create_key(VID)
    assert key_file_mode(paths) == 0o600
    assert keyring.get_password(SERVICE, f"vault:{VID}") is None  # the keyring was left alone
    location = KeyStore(paths).location(VID)
    assert location == KeyLocation("file", f"key file {paths.key_file} (TRAYAUTH_KEY_STORAGE=file)", True)
    assert KeyStore(paths).load_key(VID) == key
    assert KeyStore(paths, storage="file").mode == "file"


def test_a_raising_backend_is_a_fallback_whose_reason_never_holds_the_key(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", RaisingKeyring())
    key = KeyStore(paths).create_key(VID)
    location = KeyStore(paths).location(VID)
    assert location.kind == "file" and location.fallback
    assert "RuntimeError" in location.description and "\n" not in location.description
    assert key.decode() not in location.description
    assert key.decode() not in paths.key_file.read_text().replace(f'"key": "{key.decode()}"', "")
    assert KeyStore(paths).load_key(VID) == key


def test_a_backend_that_loses_the_key_is_not_trusted(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", ForgetfulKeyring())
    key = KeyStore(paths).create_key(VID)
    assert paths.key_file.exists()
    assert "did not return the key" in KeyStore(paths).location(VID).description
    assert KeyStore(paths).load_key(VID) == key


def test_keyring_only_mode_refuses_to_fall_back(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    use_backend(monkeypatch, FAIL_BACKEND)
    monkeypatch.setenv("TRAYAUTH_KEY_STORAGE", "keyring")
    with pytest.raises(KeyringUnavailable, match="no usable backend"):
        KeyStore(paths).create_key(VID)
    assert not paths.key_file.exists()


def test_an_unknown_storage_mode_is_a_usage_error(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAYAUTH_KEY_STORAGE", "floppy")
    with pytest.raises(UsageError, match="TRAYAUTH_KEY_STORAGE"):
        KeyStore(paths).create_key(VID)


def test_a_key_missing_from_the_keyring_is_an_error(paths: Paths) -> None:
    with pytest.raises(VaultError, match="missing from the keyring") as info:
        KeyStore(paths).load_key(VID)
    assert "left untouched" in cli_line(info.value)


def test_a_keyring_that_went_away_is_reported(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    KeyStore(paths).create_key(VID)
    use_backend(monkeypatch, FAIL_BACKEND)
    with pytest.raises(KeyringUnavailable, match="no keyring works here"):
        KeyStore(paths).load_key(VID)
    location = KeyStore(paths).location(VID)
    assert location.kind == "keyring" and "unavailable" in location.description
    monkeypatch.setattr(keyring.core, "_keyring_backend", RaisingKeyring())
    with pytest.raises(KeyringUnavailable, match="DBus"):
        KeyStore(paths).load_key(VID)


def test_forced_file_mode_without_the_file_says_where_to_look(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    KeyStore(paths).create_key(VID)  # in the keyring
    monkeypatch.setenv("TRAYAUTH_KEY_STORAGE", "file")
    with pytest.raises(VaultError) as info:
        KeyStore(paths).load_key(VID)
    assert "unset TRAYAUTH_KEY_STORAGE" in cli_line(info.value)


def test_a_malformed_key_is_refused(paths: Paths) -> None:
    keyring.set_password(SERVICE, f"vault:{VID}", "not-a-key")
    with pytest.raises(VaultError, match="malformed"):
        KeyStore(paths).load_key(VID)


def test_installations_never_share_or_clobber_keys(tmp_path: Path, paths: Paths) -> None:
    other = Paths.from_root(tmp_path / "other")
    a = KeyStore(paths).create_key(VID)
    b = KeyStore(other).create_key("fedcba9876543210fedcba9876543210")
    assert a != b
    assert KeyStore(paths).load_key(VID) == a
    assert KeyStore(other).load_key("fedcba9876543210fedcba9876543210") == b


def test_a_key_file_of_another_vault_is_not_used(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAYAUTH_KEY_STORAGE", "file")
    old = KeyStore(paths).create_key("old-vault-id-0000")
    monkeypatch.delenv("TRAYAUTH_KEY_STORAGE")
    new = KeyStore(paths).create_key(VID)  # a new vault: keyring works, so its key goes there
    assert KeyStore(paths).load_key(VID) == new != old
    assert KeyStore(paths).location(VID).kind == "keyring"
    assert KeyStore(paths).load_key("old-vault-id-0000") == old  # the old vault's key is kept


def test_delete_key_forgets_it_everywhere(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    store = KeyStore(paths)
    store.create_key(VID)
    store.delete_key(VID)
    assert keyring.get_password(SERVICE, f"vault:{VID}") is None
    with pytest.raises(VaultError):
        store.load_key(VID)
    use_backend(monkeypatch, FAIL_BACKEND)
    store.create_key(VID)
    store.delete_key(VID)
    assert not paths.key_file.exists()
    store.delete_key(VID)  # deleting twice is fine


def test_the_key_file_holds_the_vault_id_and_the_reason(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_backend(monkeypatch, FAIL_BACKEND)
    key = KeyStore(paths).create_key(VID)
    body = json.loads(paths.key_file.read_text())
    assert body["vault_id"] == VID and body["key"] == key.decode()
    assert body["reason"].startswith("no system keyring")


READ_ENTRY = """
import sys
from trayauth.storage.store import Store
store = Store.open()
store.config.load()
assert store.vault.entry("w").secrets == {"password": "pw"}
print(sorted(m for m in ("keyring", "platformdirs", "keyring.backends.SecretService",
                        "keyring.backends.kwallet", "keyring.backends.libsecret") if m in sys.modules))
"""


def read_in_subprocess() -> str:
    result = subprocess.run(
        [sys.executable, "-c", READ_ENTRY], capture_output=True, text=True, env=dict(os.environ), check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_read_path_imports_only_what_it_needs(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    """Start-up time: no platformdirs on a read; keyring only when the key is in it."""
    from trayauth.storage.store import Store
    from trayauth.storage.vault import VaultEntry

    Store.open(paths.root).vault.update("w", lambda e: VaultEntry(secrets={"password": "pw"}))
    assert read_in_subprocess() == "['keyring']"

    other = paths.root.parent / "keyfile-install"
    monkeypatch.setenv("TRAYAUTH_CONFIG_DIR", str(other))
    monkeypatch.setenv("TRAYAUTH_KEY_STORAGE", "file")
    Store.open(other).vault.update("w", lambda e: VaultEntry(secrets={"password": "pw"}))
    monkeypatch.delenv("TRAYAUTH_KEY_STORAGE")  # the key file is found without being told
    assert read_in_subprocess() == "[]"
