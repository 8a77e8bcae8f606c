"""Where an installation keeps things: config (accounts), vault (secrets, tokens), usage state.

One object so the broker gets its storage injected as a whole and tests point all of it at a
temporary directory.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from trayauth.storage import atomic
from trayauth.storage.config import ConfigStore
from trayauth.storage.keystore import KeyStore
from trayauth.storage.paths import Paths
from trayauth.storage.trust import check_private
from trayauth.storage.vault import Vault

# Writing "last used" on every `trayauth token` would cost an fsync per call; once a minute per
# account is enough to tell which account was used last.
TOUCH_INTERVAL = 60.0


@dataclass
class Store:
    paths: Paths
    config: ConfigStore
    vault: Vault
    _last_used: dict[str, float] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, root: Path | None = None) -> Store:

        paths = Paths.default() if root is None else Paths.from_root(root)
        check_private(paths.root, "the config folder")  # else another user could plant our files
        keystore = KeyStore(paths)
        return cls(paths=paths, config=ConfigStore(paths.config_file), vault=Vault(paths, keystore))

    @property
    def state_file(self) -> Path:
        return self.paths.root / "state.json"

    def last_used(self) -> dict[str, float]:
        """Non-secret usage times, so "the last used account" survives restarts."""
        if self._last_used is None:
            try:
                data = json.loads(self.state_file.read_text(encoding="utf-8"))
                used = data.get("last_used", {}) if isinstance(data, dict) else {}
                self._last_used = {str(k): float(v) for k, v in used.items() if isinstance(v, int | float)}
            except (OSError, ValueError, AttributeError, OverflowError, RecursionError):
                self._last_used = {}
        return self._last_used

    def touch(self, name: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        used = self.last_used()
        if now - used.get(name, 0.0) < TOUCH_INTERVAL:
            return
        # A new dict, not a change to the shared one: the agent's socket thread touches too, and
        # another thread may be iterating the old dict (json.dumps below, the default account).
        used = self._last_used = {**used, name: now}

        try:
            self.paths.root.mkdir(parents=True, exist_ok=True)
            atomic.write_atomic(self.state_file, json.dumps({"last_used": used}).encode())
        except OSError:
            pass  # usage times are a convenience; never fail a token request over them
