"""Keyring backends that fail the way a desktop's keyring does, for the dialogs that must say so."""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked


class DismissedKeyring(KeyringBackend):
    """A keyring whose unlock prompt the user dismissed: every call is refused."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the unlock prompt was dismissed")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the unlock prompt was dismissed")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("the unlock prompt was dismissed")
