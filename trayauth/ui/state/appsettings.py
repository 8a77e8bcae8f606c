"""The app settings ([app] in config.toml) as the tray reads them: cached, re-read on change.

Several parts ask on every copy or tick (clear time, header format, notification lead); reading
the file each time would cost a parse, so the tray keeps the last good copy and drops it when the
file changes or the settings dialog saves.
"""

from __future__ import annotations

from collections.abc import Callable

from trayauth.domain.errors import TrayauthError
from trayauth.storage.config import AppSettings
from trayauth.ui.state import wording


class AppSettingsCache:
    def __init__(self, load: Callable[[], AppSettings]) -> None:
        self._load = load  # the [app] settings as the file says now (Broker.app_settings)
        self._current: AppSettings | None = None
        self.problem: str | None = None

    @property
    def current(self) -> AppSettings:
        if self._current is None:
            try:
                self._current = self._load()
                self.problem = None
            except TrayauthError as exc:  # a broken hand edit: keep working on defaults, say so
                self._current = AppSettings()
                self.problem = wording.text(exc)
        return self._current

    def invalidate(self) -> None:
        self._current = None

    def notify_lead(self) -> float:
        return float(self.current.notify_lead_seconds)

    def clipboard_clear_seconds(self) -> int:
        return self.current.clipboard_clear_seconds

    def header_format(self) -> str:
        return self.current.header_format
