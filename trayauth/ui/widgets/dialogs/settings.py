"""App settings: default account, clipboard clear time, header format, warning lead, autostart.

They are written to ``[app]`` in config.toml through the config store, which checks each value
as it would a hand edit. "Start at login" is the desktop's own mechanism (``core.autostart``);
its state is read from there, not trusted from the config, because the user may have removed the
autostart entry by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from trayauth.domain.errors import TrayauthError
from trayauth.storage.config import AppSettings, ConfigStore
from trayauth.ui.state import wording
from trayauth.ui.widgets.dialogs.fields import ERROR_STYLE, mute

HEADER_FORMATS = ("Authorization: Bearer {token}", "Bearer {token}")


def load_autostart() -> ModuleType | None:
    try:
        from trayauth.desktop import autostart
    except ImportError:
        return None
    return autostart


class SettingsDialog(QDialog):
    def __init__(
        self,
        config: ConfigStore,
        accounts: Sequence[str],
        current: AppSettings,
        *,
        key_description: str = "",
        autostart: ModuleType | None = None,
        on_saved: Callable[[AppSettings], None] | None = None,
        move_key: Callable[[], str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settings_dialog")
        self.setWindowTitle("Settings — trayauth")
        self.setMinimumWidth(460)
        self.config = config
        self.autostart = autostart if autostart is not None else load_autostart()
        self.on_saved = on_saved
        layout = QVBoxLayout(self)
        form = QFormLayout()

        self.default_box = QComboBox(self)
        self.default_box.setObjectName("default_account")
        self.default_box.addItem("The last one used", None)
        for name in accounts:
            self.default_box.addItem(name, name)
        index = self.default_box.findData(current.default) if current.default else 0
        self.default_box.setCurrentIndex(max(0, index))
        form.addRow("Default account", self.default_box)

        self.format_box = QComboBox(self)
        self.format_box.setObjectName("header_format")
        for fmt in HEADER_FORMATS:
            self.format_box.addItem(fmt.replace("{token}", "…"), fmt)
        if current.header_format not in HEADER_FORMATS:
            self.format_box.addItem(current.header_format.replace("{token}", "…"), current.header_format)
        self.format_box.setCurrentIndex(max(0, self.format_box.findData(current.header_format)))
        form.addRow("Left click copies", self.format_box)

        self.click_box = QComboBox(self)
        self.click_box.setObjectName("left_click")
        self.click_box.addItem("Copies the default account's header", "copy")
        self.click_box.addItem("Opens quick access", "quick")
        self.click_box.setCurrentIndex(max(0, self.click_box.findData(current.left_click)))
        form.addRow("Left click on the icon", self.click_box)

        self.clear_spin = QSpinBox(self)
        self.clear_spin.setObjectName("clipboard_clear_seconds")
        self.clear_spin.setRange(0, 3600)
        self.clear_spin.setSuffix(" s")
        self.clear_spin.setSpecialValueText("never")
        self.clear_spin.setValue(min(3600, current.clipboard_clear_seconds))
        form.addRow("Clear the clipboard after", self.clear_spin)

        self.lead_spin = QSpinBox(self)
        self.lead_spin.setObjectName("notify_lead_minutes")
        self.lead_spin.setRange(0, 24 * 60)
        self.lead_spin.setSuffix(" min")
        self.lead_spin.setSpecialValueText("at expiry only")
        self.lead_spin.setValue(current.notify_lead_seconds // 60)
        # Kept exact unless changed: a 90 s lead must not become 60 s by merely saving.
        self._lead_seconds = (self.lead_spin.value(), current.notify_lead_seconds)
        lead_help = QLabel(
            "How long before a token that cannot renew itself (a pasted token, a password "
            "that was not kept) expires to warn you.",
            self,
        )
        lead_help.setWordWrap(True)
        mute(lead_help)
        form.addRow("Warn before expiry", self.lead_spin)
        form.addRow("", lead_help)

        self.autostart_box = QCheckBox("Start trayauth when I log in", self)
        self.autostart_box.setObjectName("autostart")
        enabled = False
        if self.autostart is not None:
            try:
                enabled = bool(self.autostart.is_enabled())
            except (OSError, TrayauthError):
                enabled = current.autostart
        else:
            self.autostart_box.setEnabled(False)
        self.autostart_box.setChecked(enabled)
        self._autostart_was = enabled
        form.addRow("", self.autostart_box)

        self.move_key_button: QPushButton | None = None
        if key_description:
            where = QLabel(f"Secrets are encrypted; the key is kept in {key_description}.", self)
            where.setObjectName("key_location")
            where.setWordWrap(True)
            mute(where)
            self.key_label = where
            form.addRow("Secrets", where)
            if move_key is not None:
                # The key fell back to a file (no keyring then, or its prompt was dismissed) and
                # a keyring works now: one click puts it where it belongs.
                button = QPushButton("Move the key into the keyring", self)
                button.setObjectName("move_key")
                button.clicked.connect(lambda: self._move_key(move_key))
                form.addRow("", button)
                self.move_key_button = button
        layout.addLayout(form)
        from trayauth.storage.consent import ConsentStore
        from trayauth.ui.widgets.consent import ConsentSection

        self.consent = ConsentSection(ConsentStore(config.path.parent), accounts, self)
        layout.addWidget(self.consent)

        self.error = QLabel("", self)
        self.error.setObjectName("settings_error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _move_key(self, move: Callable[[], str]) -> None:
        try:
            where = move()
        except TrayauthError as exc:
            self.error.setText(wording.text(exc))
            self.error.show()
            return
        self.error.hide()
        self.key_label.setText(f"Secrets are encrypted; the key is kept in {where}.")
        if self.move_key_button is not None:
            self.move_key_button.setEnabled(False)
            self.move_key_button.setText("The key is in the keyring ✓")

    def showEvent(self, event: QShowEvent) -> None:
        """Tall enough for the wrapped help lines at this width (the first size, the plain size
        hint, is not: at 2x the rows were squeezed and the help clipped)."""
        super().showEvent(event)
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        width = self.width()
        need = max(layout.totalHeightForWidth(width), self.sizeHint().height())
        if need > self.height():
            self.resize(width, need)

    def values(self) -> dict[str, object]:
        return {
            "default": self.default_box.currentData(),
            "header_format": self.format_box.currentData(),
            "clipboard_clear_seconds": self.clear_spin.value(),
            "notify_lead_seconds": self._lead_seconds[1]
            if self.lead_spin.value() == self._lead_seconds[0]
            else self.lead_spin.value() * 60,
            "autostart": self.autostart_box.isChecked(),
            "left_click": self.click_box.currentData(),
        }

    def save(self) -> None:
        values = self.values()
        wanted = bool(values["autostart"])
        try:
            if self.autostart is not None and wanted != self._autostart_was:
                if wanted:
                    self.autostart.enable()
                else:
                    self.autostart.disable()
            saved = self.config.update_app(**values)
        except (OSError, TrayauthError) as exc:
            text = wording.text(exc) if isinstance(exc, TrayauthError) else f"could not save: {exc}"
            self.error.setText(text)
            self.error.show()
            return
        if self.on_saved is not None:
            self.on_saved(saved)
        self.accept()
