"""What each menu item, button and click does.

The tray menu and the fallback window offer the same actions, so they live here once. Anything
that may touch the network (copy, which renews a token that is due; refresh; login) runs as a
task on the asyncio loop, never in the click handler; failures come back as one notification
line. Each window is opened once: asking again raises the one already open.

A copy that finds the account logged out opens its login dialog, because the user just asked
for it; nothing in the background ever opens a dialog or a browser on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QDialog, QMessageBox, QPushButton, QWidget

from trayauth.domain.errors import LoginRequired, TrayauthError
from trayauth.domain.text import custom_header, span
from trayauth.storage.consent import ConsentStore
from trayauth.ui import deferred
from trayauth.ui.state import wording
from trayauth.ui.state.account_actions import ActionKey
from trayauth.ui.state.present import left_phrase

if TYPE_CHECKING:
    from trayauth.domain.model import TokenSet
    from trayauth.services.broker import AccountView, Broker
    from trayauth.storage.config import AppSettings
    from trayauth.ui.qt.accounts import AccountList
    from trayauth.ui.qt.clipboard import SecretClipboard
    from trayauth.ui.state.appsettings import AppSettingsCache
    from trayauth.ui.state.notifier import Notifier
    from trayauth.ui.state.tasks import Tasks


def open_in_browser(url: str) -> bool:
    """The system browser (RFC 8252 §8.12: never an embedded view)."""
    return bool(QDesktopServices.openUrl(QUrl(url)))


def confirm_box(title: str, text: str, action: str) -> QMessageBox:
    """A destructive question whose safe answer is the default: Enter or Escape cancels, only
    a deliberate click (or Alt+the action's letter) does it."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text)
    box.setObjectName("confirm")
    do = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
    do.setObjectName("confirm_do")
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    return box


def ask_confirm(title: str, text: str) -> bool:
    box = confirm_box(title, text, title.split()[0] if title else "OK")
    box.exec()
    return box.clickedButton() is box.findChild(QPushButton, "confirm_do")


class Actions:
    def __init__(
        self,
        broker: Broker,
        accounts: AccountList,
        tasks: Tasks,
        clipboard: SecretClipboard,
        notifier: Notifier,
        settings: AppSettingsCache,
        *,
        poke: Callable[[], None] = lambda: None,
        quit: Callable[[], None] = lambda: None,
        open_url: Callable[[str], bool] = open_in_browser,
        confirm: Callable[[str, str], bool] = ask_confirm,
        clock: Callable[[], float] = time.time,
        quick_access: Callable[[], None] = lambda: None,
        open_activity: Callable[[], None] = lambda: None,
        open_about: Callable[[], None] = lambda: None,
    ) -> None:
        self.quick_access = quick_access
        self.open_activity = open_activity
        self.open_about = open_about
        self.broker = broker
        self.accounts = accounts
        self.tasks = tasks
        self.clipboard = clipboard
        self.notifier = notifier
        self.settings = settings
        self.poke = poke
        self.quit = quit
        self.open_url = open_url
        self.confirm = confirm
        self.clock = clock
        self.windows: dict[str, QWidget] = {}

    # ---- copying ---------------------------------------------------------------------------

    def default_name(self) -> str | None:
        """The account a left click copies: the chosen default, else the most recently used —
        the broker's rule, over the snapshots already in memory (the tooltip asks on every
        change, and a config read each time would stall a tray with hundreds of accounts)."""
        views = self.accounts.views
        chosen = next((v.name for v in views if v.is_default), None)
        if chosen is not None or not views:
            return chosen
        used = [v for v in views if v.last_used is not None]
        return max(used, key=lambda v: v.last_used or 0.0).name if used else views[0].name

    def left_click(self) -> None:
        """Left click on the icon: quick access or the default's header, as the setting says;
        "Add account" while there is no account."""
        if self.settings.current.left_click == "quick" and self.accounts.views:
            self.quick_access()
            return
        self.copy_default()

    def copy_default(self) -> None:
        """The default account's header, or "Add account" with none."""
        try:
            name = self.broker.default_account()
        except TrayauthError as exc:
            self.notifier.info("trayauth", wording.text(exc))
            return
        if name is None:
            self.add_account()
            return
        self.copy_header(name)

    def act(self, key: ActionKey, view: AccountView) -> None:
        """Do one of the actions an account offers (:mod:`trayauth.ui.state.account_actions`):
        the menu, the no-tray window and quick access all come here."""
        name = view.name
        handlers: dict[ActionKey, Callable[[], object]] = {
            ActionKey.LOGIN: lambda: self.login(name),
            ActionKey.COPY_HEADER: lambda: self.copy_header(name),
            ActionKey.COPY_TOKEN: lambda: self.copy_token(name),
            ActionKey.REFRESH: lambda: self.refresh(name),
            ActionKey.INSPECT: lambda: self.inspect(name),
            ActionKey.DEFAULT: lambda: self.set_default(None if view.is_default else name),
            ActionKey.LOGOUT: lambda: self.logout(name),
            ActionKey.REMOVE: lambda: self.remove(name),
        }
        handlers[key]()

    def copy_header(self, name: str) -> None:
        self.tasks.spawn(self._copy(name, header=True), key=f"copy:{name}")

    def copy_token(self, name: str) -> None:
        self.tasks.spawn(self._copy(name, header=False), key=f"copy:{name}")

    async def _copy(self, name: str, *, header: bool) -> None:
        try:
            tokens = await self.broker.token(name)
        except LoginRequired as exc:
            title = f"{name}: {wording.again(exc.next_step)}"
            self.notifier.answer(title, wording.text(exc), name, family="needs_login")
            self.login(name)
            return
        except TrayauthError as exc:
            self.notifier.answer(f"{name}: nothing copied", wording.text(exc), name)
            return
        text = (
            custom_header(self.settings.header_format(), tokens.access_token, tokens.token_type)
            if header
            else tokens.access_token
        )
        self.clipboard.copy(text)
        self._confirm_copy(name, "header" if header else "token", tokens)

    def _confirm_copy(self, name: str, what: str, tokens: TokenSet) -> None:
        view = self.accounts.view(name)
        left = left_phrase(tokens.expires_at, self.clock())
        clear = self.settings.clipboard_clear_seconds()
        tail = f"; the clipboard clears in {span(clear)}" if clear else ""
        text = f"{view.provider} — {left}{tail}" if view else f"{left}{tail}"
        self.notifier.info(f"Copied {name}'s {what}", text, account=name)

    # ---- account actions -------------------------------------------------------------------

    def refresh(self, name: str) -> None:
        self.tasks.spawn(self._refresh(name), key=f"refresh:{name}")

    async def _refresh(self, name: str) -> None:
        try:
            tokens = await self.broker.refresh(name)
        except TrayauthError as exc:
            self.notifier.answer(f"{name}: not renewed", wording.text(exc), name)
            return
        self.notifier.info(f"{name} renewed", left_phrase(tokens.expires_at, self.clock()), account=name)
        self.poke()

    def set_default(self, name: str | None) -> None:
        try:
            self.broker.set_default(name)
        except TrayauthError as exc:
            self.notifier.info("trayauth", wording.text(exc))
            return
        self.settings.invalidate()

    def logout(self, name: str) -> None:
        self.tasks.spawn(self._logout(name), key=f"logout:{name}")

    async def _logout(self, name: str) -> None:
        try:
            result = await self.broker.logout(name)
        except TrayauthError as exc:
            self.notifier.info(f"{name}: not logged out", wording.text(exc), account=name)
            return
        text = result.sentence
        self.notifier.info(f"Logged out {name}", text[:1].upper() + text[1:] + ".", account=name)

    def remove(self, name: str) -> None:
        question = (
            f"Remove the account {name}? Its tokens and any kept secrets are deleted from this "
            "computer; the provider is not told."
        )
        if not self.confirm("Remove account", question):
            return
        self._close_window(f"login:{name}")
        self._close_window(f"inspect:{name}")
        self.tasks.spawn(self._remove(name), key=f"remove:{name}")

    async def _remove(self, name: str) -> None:
        """A task: removing waits for a renewal of the account in flight (its lock)."""
        try:
            await self.broker.remove(name)
        except TrayauthError as exc:
            self.notifier.info(f"{name}: not removed", wording.text(exc), account=name)

    # ---- windows ------------------------------------------------------------------------------

    def _raise(self, key: str) -> bool:
        window = self.windows.get(key)
        if window is None:
            return False
        window.show()
        window.raise_()
        window.activateWindow()
        return True

    def track(self, key: str, window: QDialog) -> QDialog:
        """Show ``window`` as the one open under ``key``; raise it instead when it is open."""
        if self._raise(key):
            existing = self.windows[key]
            window.deleteLater()
            return existing if isinstance(existing, QDialog) else window
        return self._track(key, window)

    def _track(self, key: str, window: QDialog) -> QDialog:
        self.windows[key] = window

        def forget(_result: int) -> None:
            if self.windows.get(key) is window:
                del self.windows[key]
            window.deleteLater()

        window.finished.connect(forget)
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def _close_window(self, key: str) -> None:
        window = self.windows.get(key)
        if isinstance(window, QDialog):
            window.reject()

    def login(self, name: str) -> QDialog | None:
        key = f"login:{name}"
        if self._raise(key):
            window = self.windows[key]
            return window if isinstance(window, QDialog) else None
        try:
            dialog = deferred.login_dialog()(
                self.broker,
                self.tasks,
                account=name,
                open_url=self.open_url,
                copy_text=QGuiApplication.clipboard().setText,
                on_busy=self.accounts.set_logging_in,
            )
        except TrayauthError as exc:
            self.notifier.info(f"{name}: cannot log in", wording.text(exc), account=name)
            return None
        dialog.logged_in.connect(self._logged_in)
        return self._track(key, dialog)

    def add_account(self) -> QDialog:
        key = "add"
        if self._raise(key):
            window = self.windows[key]
            assert isinstance(window, QDialog)
            return window
        dialog = deferred.login_dialog()(
            self.broker,
            self.tasks,
            account=None,
            open_url=self.open_url,
            copy_text=QGuiApplication.clipboard().setText,
            on_busy=self.accounts.set_logging_in,
        )
        dialog.logged_in.connect(self._logged_in)
        return self._track(key, dialog)

    def _logged_in(self, name: str, tokens: TokenSet) -> None:
        text = left_phrase(tokens.expires_at, self.clock())
        view = self.broker.view(name)
        if view.sign_in_by is not None:
            text += ". No refresh token came back: sign in again before it expires"
        title = f"Saved {name}'s pasted token" if view.pasted else f"Logged in to {name}"
        self.notifier.info(title, text, account=name)
        self.accounts.reload()
        self.poke()

    def inspect(self, name: str) -> QDialog | None:
        key = f"inspect:{name}"
        self._close_window(key)  # a fresh look: the token may have been renewed since
        try:
            info = self.broker.inspect(name)
            provider = self.broker.view(name).provider
        except TrayauthError as exc:
            self.notifier.info(f"{name}: nothing to inspect", wording.text(exc), account=name)
            return None
        dialog = deferred.inspect_dialog()(
            name, provider, info, copy_text=QGuiApplication.clipboard().setText, clock=self.clock
        )
        return self._track(key, dialog)

    def open_settings(self) -> QDialog:
        key = "settings"
        if self._raise(key):
            window = self.windows[key]
            assert isinstance(window, QDialog)
            return window
        movable = False
        try:
            where = self.broker.key_location().description
            movable = self.broker.key_movable()
        except TrayauthError:
            where = ""

        def move_key() -> str:
            moved = self.broker.move_key_to_keyring().description
            self.settings.invalidate()
            return moved

        dialog = deferred.settings_dialog()(
            self.broker.update_app,
            ConsentStore(self.broker.paths.root),
            self.accounts.names(),
            self.settings.current,
            key_description=where,
            on_saved=self._settings_saved,
            move_key=move_key if movable else None,
        )
        return self._track(key, dialog)

    def _settings_saved(self, _saved: AppSettings) -> None:
        self.settings.invalidate()
        self.accounts.reload()
        self.poke()

    def close_windows(self) -> None:
        for key in list(self.windows):
            self._close_window(key)
