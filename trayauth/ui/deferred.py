"""The one place that decides what the tray imports only when it is first used.

Everywhere else in ``trayauth.ui`` imports sit at the top of their module. The exceptions are
here, each with the reason it is worth deferring; a caller asks this module for the thing it
needs (``deferred.login_dialog()``) instead of importing it inside a function of its own.

- **Qt itself** (``qt_runtime``): ``trayauth`` must answer "no display" or "already running"
  in one line before PySide6 loads, and a missing or broken Qt must be one line, not a
  traceback. This is the only guarded import of PySide6.
- **The broker** (``broker_class``): the checks before start-up answer instantly without the
  storage and service layers.
- **The dialogs** (``login_dialog``, ``inspect_dialog``, ``settings_dialog``) and
  **URL checking** (``url_checker``): they bring the autostart writers and the login's field
  forms; a tray whose dialogs are never opened does without them.
- **The windows opened on demand** (``quick_access``, ``about_dialog``, ``activity_dialog``,
  ``consent_dialog``) and
  **the no-tray window** (``fallback_window``, only where no tray host runs): a tray lives all
  day, and what it imported at start stays resident for good (~2 MiB for these).
- **The demo** (``provider_server``, ``demo_tools``): only ``trayauth demo`` runs the provider
  server and logs its accounts in (with urllib, which brings the email package).
- **jeepney** (``jeepney``): installed on Linux only (D-Bus); where it is missing,
  notifications fall back to the tray balloon and wake-up detection to the scheduler's
  one-minute cap.

Nothing here imports Qt at module level, so ``trayauth.ui.app`` can use it before Qt is loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trayauth.demo import ProviderServer
    from trayauth.services.broker import Broker
    from trayauth.ui.widgets.about import AboutDialog
    from trayauth.ui.widgets.activity import ActivityDialog
    from trayauth.ui.widgets.consent import ConsentDialog
    from trayauth.ui.widgets.dialogs.inspect import InspectDialog
    from trayauth.ui.widgets.dialogs.login import LoginDialog
    from trayauth.ui.widgets.dialogs.settings import SettingsDialog
    from trayauth.ui.widgets.fallback_window import FallbackWindow
    from trayauth.ui.widgets.quick_access import QuickAccess


class QtMissing(Exception):
    """PySide6 (or a part of it the tray needs) cannot be imported; ``str()`` says which."""


def qt_runtime() -> ModuleType:
    """``trayauth.ui.qt.running``: the application, the qasync loop and the session."""
    try:
        return importlib.import_module("trayauth.ui.qt.running")
    except ImportError as exc:
        if not (exc.name or "").startswith(("PySide6", "shiboken6", "qasync")):
            raise  # a bug of ours, not a missing Qt
        raise QtMissing(exc.name or str(exc)) from None


def broker_class() -> type[Broker]:
    from trayauth.services.broker import Broker

    return Broker


def provider_server() -> type[ProviderServer]:
    from trayauth.demo import ProviderServer

    return ProviderServer


def demo_tools() -> ModuleType:
    """``trayauth.ui.state.demo``: the demo accounts, their logins and the played browser."""
    return importlib.import_module("trayauth.ui.state.demo")


def login_dialog() -> type[LoginDialog]:
    from trayauth.ui.widgets.dialogs.login import LoginDialog

    return LoginDialog


def inspect_dialog() -> type[InspectDialog]:
    from trayauth.ui.widgets.dialogs.inspect import InspectDialog

    return InspectDialog


def settings_dialog() -> type[SettingsDialog]:
    from trayauth.ui.widgets.dialogs.settings import SettingsDialog

    return SettingsDialog


def quick_access() -> type[QuickAccess]:
    from trayauth.ui.widgets.quick_access import QuickAccess

    return QuickAccess


def about_dialog() -> type[AboutDialog]:
    from trayauth.ui.widgets.about import AboutDialog

    return AboutDialog


def activity_dialog() -> type[ActivityDialog]:
    from trayauth.ui.widgets.activity import ActivityDialog

    return ActivityDialog


def consent_dialog() -> type[ConsentDialog]:
    from trayauth.ui.widgets.consent import ConsentDialog

    return ConsentDialog


def fallback_window() -> type[FallbackWindow]:
    from trayauth.ui.widgets.fallback_window import FallbackWindow

    return FallbackWindow


def url_checker() -> Callable[..., None]:
    """``trayauth.net.http.check_url``: a field's URL checked while typing."""
    from trayauth.net.http import check_url

    return check_url


def jeepney() -> tuple[ModuleType, ModuleType] | None:
    """``jeepney`` and ``jeepney.io.asyncio``, or None where jeepney is not installed."""
    try:
        return importlib.import_module("jeepney"), importlib.import_module("jeepney.io.asyncio")
    except ImportError:
        return None
