"""App settings: default account, clipboard clear time, header format, warning lead, autostart.

They are written to ``[app]`` in config.toml through the config store, which checks each value
as it would a hand edit. "Start at login" is the desktop's own mechanism (``desktop.autostart``);
its state is read from there, not trusted from the config, because the user may have removed the
autostart entry by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType

from PySide6.QtCore import Qt
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

from trayauth.desktop import autostart as desktop_autostart
from trayauth.domain.errors import TrayauthError
from trayauth.storage.config import AppSettings
from trayauth.storage.consent import ConsentStore
from trayauth.ui.state import wording
from trayauth.ui.widgets.combo import ElidingComboBox
from trayauth.ui.widgets.consent import ConsentSection
from trayauth.ui.widgets.dialogs.fields import ERROR_STYLE, mute, top_label
from trayauth.ui.widgets.dialogs.scrolling import fit_to_screen, scroll_body

HEADER_FORMATS = ("Authorization: Bearer {token}", "Bearer {token}")


class SettingsDialog(QDialog):
    def __init__(
        self,
        save: Callable[..., AppSettings],
        consents: ConsentStore,
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
        self._save = save  # writes [app] (Broker.update_app), checking each value
        self.autostart: ModuleType = autostart if autostart is not None else desktop_autostart
        self.on_saved = on_saved
        layout = QVBoxLayout(self)
        # The body scrolls rather than squeezes: with many accounts (one consent row each) or at
        # 2x scale it is taller than a laptop screen.
        self.body_scroll, page, body = scroll_body(self, "settings_scroll")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.default_box = ElidingComboBox(page)
        self.default_box.setObjectName("default_account")
        self.default_box.addItem("The last one used", None)
        for name in accounts:
            self.default_box.addItem(name, name)
        index = self.default_box.findData(current.default) if current.default else 0
        self.default_box.setCurrentIndex(max(0, index))
        form.addRow("Default account", self.default_box)

        self.format_box = QComboBox(page)
        self.format_box.setObjectName("header_format")
        for fmt in HEADER_FORMATS:
            self.format_box.addItem(fmt.replace("{token}", "…"), fmt)
        if current.header_format not in HEADER_FORMATS:
            self.format_box.addItem(current.header_format.replace("{token}", "…"), current.header_format)
        self.format_box.setCurrentIndex(max(0, self.format_box.findData(current.header_format)))
        form.addRow("Left click copies", self.format_box)

        self.click_box = QComboBox(page)
        self.click_box.setObjectName("left_click")
        self.click_box.addItem("Copies the default account's header", "copy")
        self.click_box.addItem("Opens quick access", "quick")
        self.click_box.setCurrentIndex(max(0, self.click_box.findData(current.left_click)))
        form.addRow("Left click on the icon", self.click_box)

        self.clear_spin = QSpinBox(page)
        self.clear_spin.setObjectName("clipboard_clear_seconds")
        self.clear_spin.setRange(0, 3600)
        self.clear_spin.setSuffix(" s")
        self.clear_spin.setSpecialValueText("never")
        self.clear_spin.setValue(min(3600, current.clipboard_clear_seconds))
        form.addRow("Clear the clipboard after", self.clear_spin)

        self.lead_spin = QSpinBox(page)
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
            page,
        )
        lead_help.setWordWrap(True)
        mute(lead_help)
        # The help sits right under its field, as in the account forms (a row of its own left a
        # gap that read as a separate setting).
        lead_box = QWidget(page)
        lead_layout = QVBoxLayout(lead_box)
        lead_layout.setContentsMargins(0, 0, 0, 0)
        lead_layout.setSpacing(2)
        lead_layout.addWidget(self.lead_spin)
        lead_layout.addWidget(lead_help)
        form.addRow("Warn before expiry", lead_box)

        self.autostart_box = QCheckBox("Start trayauth when I log in", page)
        self.autostart_box.setObjectName("autostart")
        try:
            enabled = bool(self.autostart.is_enabled())
        except (OSError, TrayauthError):
            enabled = current.autostart
        self.autostart_box.setChecked(enabled)
        self._autostart_was = enabled
        form.addRow("", self.autostart_box)

        self.move_key_button: QPushButton | None = None
        if key_description:
            # The note and its button are one field, labelled at the note's first line.
            secrets = QWidget(page)
            secrets_layout = QVBoxLayout(secrets)
            secrets_layout.setContentsMargins(0, 0, 0, 0)
            where = QLabel(f"Secrets are encrypted; the key is kept in {key_description}.", secrets)
            where.setObjectName("key_location")
            where.setWordWrap(True)
            mute(where)
            self.key_label = where
            secrets_layout.addWidget(where)
            if move_key is not None:
                # The key fell back to a file (no keyring then, or its prompt was dismissed) and
                # a keyring works now: one click puts it where it belongs.
                button = QPushButton("Move the key into the keyring", secrets)
                button.setObjectName("move_key")
                button.clicked.connect(lambda: self._move_key(move_key))
                secrets_layout.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
                self.move_key_button = button
            form.addRow(top_label("Secrets", page), secrets)
        body.addLayout(form)
        self.consent = ConsentSection(consents, accounts, page)
        body.addWidget(self.consent)
        body.addStretch(1)
        layout.addWidget(self.body_scroll, 1)

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

    def _say(self, line: str) -> None:
        """An error line under the body; the dialog makes room for it rather than squeezing."""
        self.error.setText(line)
        self.error.show()
        if self.isVisible():
            fit_to_screen(self, self.body_scroll)

    def _move_key(self, move: Callable[[], str]) -> None:
        try:
            where = move()
        except TrayauthError as exc:
            self._say(wording.text(exc))
            return
        self.error.hide()
        self.key_label.setText(f"Secrets are encrypted; the key is kept in {where}.")
        if self.move_key_button is not None:
            self.move_key_button.setEnabled(False)
            self.move_key_button.setText("The key is in the keyring ✓")

    def showEvent(self, event: QShowEvent) -> None:
        """Tall enough for the wrapped help lines at this width, or as tall as the screen allows
        with the rest scrolling (the first size, the plain size hint, is neither: at 2x the rows
        were squeezed and the help clipped, and with many accounts it ran off the screen)."""
        super().showEvent(event)
        fit_to_screen(self, self.body_scroll)

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
            if wanted != self._autostart_was:
                if wanted:
                    self.autostart.enable()
                else:
                    self.autostart.disable()
            saved = self._save(**values)
        except (OSError, TrayauthError) as exc:
            text = wording.text(exc) if isinstance(exc, TrayauthError) else f"could not save: {exc}"
            self._say(text)
            return
        if self.on_saved is not None:
            self.on_saved(saved)
        self.accept()
