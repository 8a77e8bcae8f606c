"""A form made from a preset's field schema (key, label, kind, secret, required, default, help).

The same schema makes the CLI's prompts, so a preset a user writes for their own provider gets a
dialog with no code. Secrets are masked (with a "show" toggle) and never pre-filled; required
fields and URLs are checked before anything is sent, and each problem is shown under its field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QIcon, QPalette
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from trayauth.domain.errors import TrayauthError
from trayauth.domain.presets import Field
from trayauth.ui import deferred
from trayauth.ui.state import wording
from trayauth.ui.widgets.icons import reveal_icon

ERROR_STYLE = "color: #c62828;"
FEEDBACK_MS = 1500


def copy_button(button: QPushButton, copy: Callable[[], None]) -> QPushButton:
    """A copy button that says it copied: "Copied ✓" for a moment, then its own label again.
    Every copy gets feedback; a silent copy leaves people pasting to check."""
    label = button.text()

    def clicked() -> None:
        copy()
        button.setText("Copied ✓")
        QTimer.singleShot(FEEDBACK_MS, button, lambda: button.setText(label))  # dropped with the button

    button.clicked.connect(clicked)
    return button


def mute(label: QLabel) -> QLabel:
    """Secondary text (help, notes) in the theme's placeholder colour: quieter, still readable on
    light and dark themes alike (palette(mid) is too faint on light ones)."""
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, palette.color(QPalette.ColorRole.PlaceholderText))
    label.setPalette(palette)
    return label


def top_label(text: str, parent: QWidget) -> QLabel:
    """A form label for a field of several lines of text: at the field's first line. (A form
    centres its label in up to 1.75 times the label's height, which beside wrapped text puts it
    between the first and second lines.)"""
    label = QLabel(text, parent)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return label


# The label column's widest, in average characters: a longer label ("API base URL (optional,
# for your reference)") wraps instead of pushing the fields out of the dialog.
LABEL_CHARS = 24


def share_label_column(labels: Iterable[QLabel]) -> None:
    """Form rows stacked in two layouts (the Add dialog's Provider and name above a preset's
    fields) line their fields up only if their labels are equally wide: each gets the widest,
    up to ``LABEL_CHARS`` characters, beyond which labels wrap."""
    labels = list(labels)
    if not labels:
        return
    cap = labels[0].fontMetrics().averageCharWidth() * LABEL_CHARS
    width = min(cap, max(label.sizeHint().width() for label in labels))
    for label in labels:
        label.setWordWrap(label.sizeHint().width() > width)
        label.setFixedWidth(width)


class FieldRow:
    """One field's editor, its help line and its error line."""

    def __init__(self, field: Field, value: str, parent: QWidget) -> None:
        self.field = field
        self.edit = QLineEdit(parent)
        self.edit.setObjectName(f"field_{field.key}")
        self.edit.setAccessibleName(field.label)
        self.container = QWidget(parent)
        layout = QVBoxLayout(self.container)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.edit)
        if field.secret:
            self.edit.setEchoMode(QLineEdit.EchoMode.Password)
            self.edit.setPlaceholderText("required" if field.required else "optional")
            self._add_reveal()
        else:
            self.edit.setText(value or field.default)
            if field.kind == "url":
                self.edit.setPlaceholderText("https://…")
            elif field.kind == "scopes":
                self.edit.setPlaceholderText("space-separated scopes")
            elif not field.required:
                self.edit.setPlaceholderText("optional")
        self.help = QLabel(field.help, self.container)
        self.help.setWordWrap(True)
        mute(self.help)
        self.help.setVisible(bool(field.help))
        layout.addWidget(self.help)
        self.error = QLabel("", self.container)
        self.error.setObjectName(f"error_{field.key}")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.hide()
        layout.addWidget(self.error)

    def _add_reveal(self) -> None:
        # The theme's eye where the theme has one; our own drawn eye where it has not, so the
        # toggle is never an invisible button.
        themed = QIcon.fromTheme("view-reveal-symbolic")
        action = QAction(themed if not themed.isNull() else reveal_icon(), "Show", self.edit)
        action.setCheckable(True)
        action.setToolTip("Show what you typed")

        def toggle(shown: bool) -> None:
            self.edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
            action.setText("Hide" if shown else "Show")

        action.toggled.connect(toggle)
        self.edit.addAction(action, QLineEdit.ActionPosition.TrailingPosition)
        self.reveal = action

    def value(self) -> str:
        text = self.edit.text()
        return text if self.field.secret else text.strip()

    def set_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def problem(self) -> str | None:
        value = self.value()
        if not value:
            if self.field.required and (self.field.secret or not self.field.default):
                return f"{self.field.label} is required"
            return None
        if self.field.kind == "url":
            try:
                deferred.url_checker()(value, resolve=None)  # no DNS while typing: checked again when sent
            except TrayauthError as exc:
                return wording.text(exc)
        if "\n" in value or "\r" in value:
            return f"{self.field.label} must be one line"
        return None


class FieldForm(QWidget):
    """The editors for ``fields``; settings first (as the preset lists them), then secrets."""

    def __init__(
        self,
        fields: Iterable[Field],
        values: Mapping[str, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.rows: dict[str, FieldRow] = {}
        self.labels: list[QLabel] = []
        self._row_index: dict[str, int] = {}
        values = values or {}
        ordered = sorted(fields, key=lambda f: f.secret)  # stable: keeps the preset's order otherwise
        for field in ordered:
            row = FieldRow(field, values.get(field.key, ""), self)
            label = QLabel(f"{field.label}{' *' if field.required and not field.default else ''}", self)
            label.setBuddy(row.edit)
            label.setToolTip(field.help)
            self._row_index[field.key] = self.form.rowCount()
            self.form.addRow(label, row.container)
            self.labels.append(label)
            self.rows[field.key] = row

    def edit(self, key: str) -> QLineEdit:
        return self.rows[key].edit

    def settings(self) -> dict[str, str]:
        """Non-secret values that are set (they go to the config file)."""
        return {k: r.value() for k, r in self.rows.items() if not r.field.secret and r.value()}

    def secrets(self) -> dict[str, str]:
        """Secret values that are set (they go to the flow, and the vault if the preset keeps them)."""
        return {k: r.value() for k, r in self.rows.items() if r.field.secret and r.value()}

    def check(self) -> bool:
        """Mark every problem under its field and focus the first; True when there is none."""
        first: FieldRow | None = None
        for row in self.rows.values():
            problem = row.problem()
            row.set_error(problem)
            if problem and first is None:
                first = row
        if first is not None:
            first.edit.setFocus()
            return False
        return True

    def set_error(self, key: str, message: str | None) -> None:
        if key in self.rows:
            self.rows[key].set_error(message)

    def clear_secrets(self) -> None:
        for row in self.rows.values():
            if row.field.secret:
                row.edit.clear()

    def set_settings_visible(self, visible: bool) -> None:
        """Log in again: the settings are known, so only the secrets need to be in view."""
        for key, row in self.rows.items():
            if not row.field.secret:
                self.form.setRowVisible(self._row_index[key], visible)

    def settings_visible(self) -> bool:
        return any(
            self.form.isRowVisible(self._row_index[k]) for k, r in self.rows.items() if not r.field.secret
        )

    def set_enabled(self, enabled: bool) -> None:
        for row in self.rows.values():
            row.edit.setReadOnly(not enabled)
