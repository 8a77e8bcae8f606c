"""The app's own settings and where things are kept: what the tray's windows read and change
besides accounts (the ``[app]`` table of the config, the folders, the vault key's place).

Callers above the services (the tray, the demo, the CLI) go through this instead of reaching into
the storage layer, so the storage stays an implementation detail of the services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trayauth.storage.config import AppSettings
    from trayauth.storage.keystore import KeyLocation
    from trayauth.storage.paths import Paths
    from trayauth.storage.store import Store


class AppService:
    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def paths(self) -> Paths:
        """Where the config, the vault, the presets and the tray's socket live (values only)."""
        return self._store.paths

    def settings(self) -> AppSettings:
        """The ``[app]`` settings as the file says now (a broken file raises ConfigError)."""
        return self._store.config.load().app

    def update_settings(self, **values: object) -> AppSettings:
        """Change app settings; each value is checked as a hand edit would be."""
        return self._store.config.update_app(**values)

    def key_location(self) -> KeyLocation:
        return self._store.vault.key_location()

    def has_vault(self) -> bool:
        """Whether a vault exists yet (the first login makes it, and its key)."""
        return self._store.vault.vault_id() is not None

    def key_movable(self) -> bool:
        """The vault's key is in a file while a keyring works here: offer to move it."""
        if not self.key_location().fallback or not self.has_vault():
            return False
        return self._store.vault.keystore.keyring_available()

    def move_key_to_keyring(self) -> KeyLocation:
        """Store the key in the keyring and read it back before the key file goes."""
        return self._store.vault.move_key_to_keyring()
