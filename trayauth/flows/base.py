"""What a flow gets to work with, so flows stay free of storage, UI and global state."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trayauth.domain.errors import LoginRequired, UsageError
from trayauth.domain.steps import NextStep

if TYPE_CHECKING:
    from trayauth.domain.model import Account
    from trayauth.domain.presets import Preset
    from trayauth.domain.prompts import Asker
    from trayauth.net.http import HttpPolicy


@dataclass
class FlowContext:
    """One login or renewal of one account.

    ``asker`` is None for background renewal: a flow that would need the user then raises
    ``LoginRequired`` instead of opening a browser nobody asked for. ``open_browser`` is None when
    the user said --no-browser (the URL is still shown through the asker).
    """

    account: Account
    preset: Preset
    secrets: Mapping[str, str]
    http: HttpPolicy
    clock: Callable[[], float]
    asker: Asker | None = None
    open_browser: Callable[[str], bool] | None = None
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.account.name

    def setting(self, key: str, default: str | None = None) -> str | None:
        """The account's value, else the preset field's default, else ``default``."""
        value = self.account.settings.get(key)
        if value:
            return value
        fld = self.preset.field(key)
        if fld is not None and fld.default:
            return fld.default
        return default

    def require(self, key: str) -> str:
        value = self.setting(key)
        if not value:
            raise UsageError(
                f"account {self.name!r} has no {key!r} setting",
                account=self.name,
                named=True,
                next_step=NextStep.set_setting(self.name, self.preset.id, (key,)),
            )
        return value

    def secret(self, key: str) -> str | None:
        return self.secrets.get(key) or None

    def require_secret(self, key: str) -> str:
        value = self.secret(key)
        if not value:
            raise LoginRequired(
                f"account {self.name!r} needs its {key} to log in",
                account=self.name,
                named=True,
                next_step=NextStep.log_in(self.name),
            )
        return value

    def all_secrets(self) -> list[str]:
        """Every secret this context could leak, for redaction of error messages."""
        return [v for v in self.secrets.values() if v]
