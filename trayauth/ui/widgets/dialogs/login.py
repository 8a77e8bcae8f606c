"""Log in, or add an account and log in: one dialog generated from the preset's field schema.

The network never blocks it: the login runs as an asyncio task, the dialog shows a busy state
whose Cancel cancels that task, and a failure lands inline as the error's one line ("401: wrong
password"), with the form still filled in. OAuth presets swap the form for the browser sign-in
or device-code panel while the flow waits (the dialog is the flow's Asker).

Adding an account writes it to the config before logging in (the flow reads its settings from
there); if the dialog is then closed without a successful login, that account is removed again,
so "Add account…" followed by Cancel leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from itertools import pairwise
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from trayauth.domain.errors import AccountExists, TrayauthError
from trayauth.domain.model import Account
from trayauth.domain.presets import Preset
from trayauth.domain.prompts import BrowserSignIn, DeviceCode, Question
from trayauth.storage.config import account_name_problem
from trayauth.ui.state import wording
from trayauth.ui.widgets.combo import ElidingComboBox
from trayauth.ui.widgets.dialogs.fields import ERROR_STYLE, FieldForm, mute, share_label_column
from trayauth.ui.widgets.dialogs.signin import BrowserSignInPanel, DeviceCodePanel

if TYPE_CHECKING:
    from trayauth.domain.model import TokenSet
    from trayauth.services.broker import Broker
    from trayauth.ui.state.tasks import Tasks


def primary_label(preset: Preset, adding: bool) -> str:
    if preset.flow == "authorization_code":
        verb = "Sign in with browser"
    elif preset.flow == "device_code":
        verb = "Get a sign-in code"
    elif preset.flow == "static":
        verb = "Save"
    else:
        verb = "Log in"
    if adding:
        return "Add" if verb == "Save" else f"Add and {verb[0].lower()}{verb[1:]}"
    return verb


class LoginDialog(QDialog):
    """``account=None``: add a new account (name and provider first); else log in to it again."""

    logged_in = Signal(str, object)  # account name, TokenSet

    def __init__(
        self,
        broker: Broker,
        tasks: Tasks,
        *,
        account: str | None = None,
        open_url: Callable[[str], bool],
        copy_text: Callable[[str], None],
        on_busy: Callable[[str, bool], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.broker = broker
        self.tasks = tasks
        self.adding = account is None
        self.open_url = open_url
        self.copy_text = copy_text
        self.on_busy = on_busy
        self.task: asyncio.Task[TokenSet | None] | None = None
        self.question: Question | None = None
        self.panel: QWidget | None = None
        self._added: str | None = None  # an account this dialog wrote and must undo on cancel
        self._busy_name: str | None = None
        self._had_vault = True  # known at each start: whether this login will create the vault
        self.setObjectName("login_dialog")
        self.setMinimumWidth(480)

        layout = QVBoxLayout(self)
        self.heading = QLabel(self)
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.heading.setFont(font)
        layout.addWidget(self.heading)
        self.description = QLabel(self)
        self.description.setWordWrap(True)
        mute(self.description)
        layout.addWidget(self.description)

        self.pages = QStackedWidget(self)
        # The form scrolls rather than squeezes: a dozen fields with help lines at 2x scale are
        # taller than a laptop screen, and a squeezed field is a thin bar with clipped help.
        self.form_scroll = QScrollArea(self.pages)
        self.form_scroll.setObjectName("form_scroll")
        self.form_scroll.setWidgetResizable(True)
        self.form_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.form_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.form_page = QWidget(self.form_scroll)
        self.form_layout = QVBoxLayout(self.form_page)
        self.form_layout.setContentsMargins(0, 6, 0, 0)
        self.form_scroll.setWidget(self.form_page)
        self.form_page.installEventFilter(self)
        self.pages.addWidget(self.form_scroll)
        layout.addWidget(self.pages, 1)

        self.name_edit: QLineEdit | None = None
        self.preset_box: QComboBox | None = None
        self.form: FieldForm | None = None
        self.presets: list[Preset] = []
        self.header_labels: list[QLabel] = []
        if self.adding:
            self._build_add_header()
        self.form_holder = QVBoxLayout()
        self.form_layout.addLayout(self.form_holder)
        self.settings_toggle = QPushButton("Change settings…", self.form_page)
        self.settings_toggle.setObjectName("settings_toggle")
        self.settings_toggle.setFlat(True)
        self.settings_toggle.hide()
        self.settings_toggle.clicked.connect(self._reveal_settings)
        self.form_layout.addWidget(self.settings_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        self.form_layout.addStretch(1)

        self.error = QLabel("", self)
        self.error.setObjectName("login_error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        layout.addWidget(self.error)
        self.busy_row = QWidget(self)
        busy_layout = QHBoxLayout(self.busy_row)
        busy_layout.setContentsMargins(0, 0, 0, 0)
        self.busy_label = QLabel("Logging in…", self.busy_row)
        self.busy_label.setObjectName("busy_label")
        busy_layout.addWidget(self.busy_label)
        self.progress = QProgressBar(self.busy_row)
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        busy_layout.addWidget(self.progress, 1)
        self.busy_row.hide()
        layout.addWidget(self.busy_row)

        self.buttons = QDialogButtonBox(self)
        self.primary = QPushButton("Log in", self)
        self.primary.setObjectName("primary")
        self.primary.setDefault(True)
        self.primary.clicked.connect(self.start)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.clicked.connect(self.cancel)
        self.buttons.addButton(self.primary, QDialogButtonBox.ButtonRole.ActionRole)
        layout.addWidget(self.buttons)

        if self.adding:
            self.setWindowTitle("Add account — trayauth")
            self.heading.setText("Add an account")
            self._preset_changed()
        else:
            assert account is not None
            self.account_name = account
            acct, preset = broker.account(account)
            # A pasted token has nothing to log in to: the window says what it is for.
            doing = "Paste a new token for" if preset.pasted else "Log in to"
            self.setWindowTitle(f"{doing.rsplit(' ', 1)[0]} — {account} — trayauth")
            self.heading.setText(f"{doing} {account} · {preset.label}")
            self._show_form(preset, acct.settings)

    # ---- building ------------------------------------------------------------------------------

    def _build_add_header(self) -> None:
        header = QFormLayout()
        name_box = QWidget(self.form_page)
        name_layout = QVBoxLayout(name_box)
        name_layout.setContentsMargins(0, 0, 0, 0)
        name_layout.setSpacing(2)
        self.name_edit = QLineEdit(name_box)
        self.name_edit.setObjectName("account_name")
        self.name_edit.setPlaceholderText("e.g. work, staging, ci")
        name_layout.addWidget(self.name_edit)
        self.name_error = QLabel("", name_box)
        self.name_error.setObjectName("name_error")
        self.name_error.setStyleSheet(ERROR_STYLE)
        self.name_error.setWordWrap(True)
        self.name_error.hide()
        name_layout.addWidget(self.name_error)
        self.preset_box = ElidingComboBox(self.form_page)
        self.preset_box.setObjectName("preset")
        # As narrow as the field column allows: sized to its longest provider name, it pushed
        # the form wider than the dialog once the label column is shared (fields cut off).
        self.preset_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset_box.setMinimumContentsLength(18)
        self.presets, _errors = self.broker.presets.all()
        for preset in self.presets:
            self.preset_box.addItem(preset.label, preset.id)
        self.preset_box.currentIndexChanged.connect(self._preset_changed)
        self.header_labels = [QLabel("Provider", self.form_page), QLabel("Account name", self.form_page)]
        self.header_labels[0].setBuddy(self.preset_box)
        self.header_labels[1].setBuddy(self.name_edit)
        header.addRow(self.header_labels[0], self.preset_box)
        header.addRow(self.header_labels[1], name_box)
        self.form_layout.addLayout(header)

    def _reveal_settings(self) -> None:
        if self.form is not None:
            self.form.set_settings_visible(True)
        self.settings_toggle.hide()
        self.grow()

    def grow(self, *, fit: bool = False) -> None:
        """Make room for lines that appeared (errors, settings) instead of squeezing the fields;
        word-wrapped labels need the height for the current width, which a plain minimum size
        does not account for. ``fit``: also give back room a shorter form no longer needs (a
        switch from OAuth's eight fields to a bearer token's two left a mostly empty dialog)."""
        layout = self.layout()
        inner = self.form_page.layout()
        if layout is None or inner is None:
            return
        layout.activate()
        width = max(self.width(), self.sizeHint().width())
        viewport = self.form_scroll.viewport()
        inner_width = viewport.width() if self.isVisible() else width - 2 * layout.contentsMargins().left()
        if inner.hasHeightForWidth():
            need = inner.totalHeightForWidth(inner_width)
        else:
            need = inner.sizeHint().height()
        self._fit_form()
        extra = max(0, need - viewport.height()) if self.isVisible() else 0
        height = max(self.height(), self.sizeHint().height()) + extra
        screen = self.screen()
        if screen is not None:
            height = min(height, int(screen.availableGeometry().height() * 0.9))
        if fit and self.isVisible():
            bar = self.form_scroll.verticalScrollBar().sizeHint().width()
            body = need
            if inner.hasHeightForWidth():
                body = inner.totalHeightForWidth(max(1, viewport.width() - bar))
            wanted = self.height() - viewport.height() + body
            if screen is not None:
                wanted = min(wanted, int(screen.availableGeometry().height() * 0.9))
            if wanted < self.height():
                self.resize(width, max(wanted, self.minimumSizeHint().height()))
                return
        if height > self.height() or width > self.width():
            self.resize(width, max(height, self.height()))

    def _fit_form(self) -> None:
        """The form's height for the width it will really have: with the scroll bar showing,
        help lines wrap once more, which the scroll area's own sizing misses by a line."""
        inner = self.form_page.layout()
        if inner is None or not inner.hasHeightForWidth():
            return
        bar = self.form_scroll.verticalScrollBar().sizeHint().width()
        # As if the scroll bar were there: a little spare height costs nothing, a missing line
        # squeezes a field.
        width = max(1, self.form_scroll.width() - bar)
        if self.form is not None:
            rows = self.form.layout()
            if rows is not None:
                # QFormLayout shares out any height below its size hint evenly, squeezing the
                # rows with help lines; the hint is never short of what the rows need.
                form_need = max(rows.totalHeightForWidth(width), self.form.sizeHint().height())
                if form_need > 0 and form_need != self.form.minimumHeight():
                    self.form.setMinimumHeight(form_need)
        need = inner.totalHeightForWidth(width)
        if need > 0 and need != self.form_page.minimumHeight():
            self.form_page.setMinimumHeight(need)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # A new form (another provider) lays itself out after it is polished: fit it then.
        if watched is self.form_page and event.type() == QEvent.Type.LayoutRequest:
            QTimer.singleShot(0, self, self.grow)  # dropped with the dialog
        return super().eventFilter(watched, event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_form()

    def current_preset(self) -> Preset:
        if self.preset_box is not None:
            return self.presets[max(0, self.preset_box.currentIndex())]
        return self.broker.account(self.account_name)[1]

    def select_preset(self, preset_id: str) -> None:
        assert self.preset_box is not None
        index = self.preset_box.findData(preset_id)
        if index < 0:
            raise KeyError(preset_id)
        self.preset_box.setCurrentIndex(index)

    def _preset_changed(self) -> None:
        if self.presets:
            self._show_form(self.current_preset(), {})

    def _show_form(self, preset: Preset, values: Mapping[str, str]) -> None:
        if self.form is not None:
            self.form_holder.removeWidget(self.form)
            self.form.deleteLater()
        self.form = FieldForm(preset.fields, values, self.form_page)
        self.form_holder.addWidget(self.form)
        # One label column for the header rows and the preset's rows: fields start at one x.
        share_label_column([*self.header_labels, *self.form.labels])
        if not self.adding:
            # Logging in again: the settings are known, so show only the secrets unless asked
            # (or unless a required setting is missing, or there is no secret to type).
            complete = all(not r.problem() for r in self.form.rows.values() if not r.field.secret)
            show = not complete or not preset.secret_fields
            self.form.set_settings_visible(show)
            self.settings_toggle.setVisible(not show)
        text = preset.description
        if preset.overrides_builtin:
            # A planted preset could send the password elsewhere: never let one pass unsaid.
            text = f"Your own preset file {preset.source} is used in place of the built-in one. {text}"
        self.description.setText(text.strip())
        self.description.setVisible(bool(text.strip()))
        self.primary.setText(primary_label(preset, self.adding))
        self.error.hide()
        self._tab_order()
        self.grow(fit=True)

    def _tab_order(self) -> None:
        """Tab goes down the dialog as it reads: provider, name, each field, then the buttons
        (widgets made later, like a new provider's fields, would otherwise come last)."""
        chain: list[QWidget] = []
        if self.preset_box is not None and self.name_edit is not None:
            chain += [self.preset_box, self.name_edit]
        if self.form is not None:
            chain += [row.edit for row in self.form.rows.values()]
        chain += [self.settings_toggle, self.primary, self.cancel_button]
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)

    # ---- running ------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self) -> None:
        if self.busy or self.form is None:
            return
        self.error.hide()
        ok = self.form.check()
        name = self._checked_name() if self.adding else self.account_name
        if not ok or name is None:
            self.grow()
            return
        preset = self.current_preset()
        settings = self.form.settings()
        try:
            self._write_account(name, preset, settings)
        except AccountExists as exc:
            self._name_problem(exc.message)
            return
        except TrayauthError as exc:
            self._fail(wording.text(exc))
            return
        secrets = self.form.secrets()
        self._had_vault = self.broker.has_vault()
        self._set_busy(name, True)
        self.task = self.tasks.spawn(self._login(name, secrets))

    def _checked_name(self) -> str | None:
        assert self.name_edit is not None
        name = self.name_edit.text().strip()
        problem = "Give the account a name" if not name else account_name_problem(name)
        self._name_problem(problem)
        return None if problem else name

    def _name_problem(self, problem: str | None) -> None:
        self.name_error.setText(problem or "")
        self.name_error.setVisible(bool(problem))
        if problem and self.name_edit is not None:
            self.name_edit.setFocus()

    def _write_account(self, name: str, preset: Preset, settings: dict[str, str]) -> None:
        if not self.adding:
            current = self.broker.account(name)[0].settings
            schema = {f.key for f in preset.fields}
            merged = {k: v for k, v in current.items() if k not in schema} | settings
            if merged != dict(current):
                self.broker.update_settings(name, merged)
            return
        if self._added is not None and self._added != name:
            self._forget(self._added)
            self._added = None
        if self._added is None:
            self.broker.add(Account(name=name, preset=preset.id, settings=settings))
            self._added = name
        else:
            self.broker.update_settings(name, settings)

    def _forget(self, name: str) -> None:
        """Remove an account this window added and never logged in (a renamed or cancelled add):
        a task, since removing takes the account's lock."""

        async def remove() -> None:
            with contextlib.suppress(TrayauthError):
                await self.broker.remove(name)

        self.tasks.spawn(remove())

    async def _login(self, name: str, secrets: dict[str, str]) -> TokenSet | None:
        """The task behind the busy state; its failure is shown here, inline, not re-raised."""
        try:
            tokens = await self.broker.login(name, secrets, asker=self, open_browser=self.open_url)
        except asyncio.CancelledError:
            self._set_busy(name, False)
            self._back_to_form()
            self._fail("Cancelled.", error=False)
            raise
        except TrayauthError as exc:
            self._set_busy(name, False)
            self._back_to_form()
            self._fail(wording.text(exc))
            return None
        self._set_busy(name, False)
        self._added = None  # it is a real account now: keep it
        self.task = None  # done; closing must not cancel the task that is closing it
        self.logged_in.emit(name, tokens)
        notice = self._key_notice()
        if notice is None:
            self.accept()
            return tokens
        # The keyring was dismissed or locked when this login made the vault's key: say so here,
        # where the user just acted, instead of silently keeping the key in a file.
        self._fail(notice, error=False)
        self.error.setObjectName("key_notice")
        self.primary.setText("Close")
        self.primary.clicked.disconnect()
        self.primary.clicked.connect(self.accept)
        self.cancel_button.hide()
        if self.form is not None:
            self.form.set_enabled(False)
        return tokens

    def _key_notice(self) -> str | None:
        """A sentence when this login created the vault and its key fell back to a file although
        keyring is not turned off (TRAYAUTH_KEY_STORAGE=file is the user's own choice)."""
        if self._had_vault:
            return None
        try:
            location = self.broker.key_location()
        except TrayauthError:
            return None
        if not location.fallback or "=file" in location.description:
            return None
        return (
            "Logged in. Your secrets are encrypted, but the keyring did not take the key (its "
            f"prompt was dismissed, or it is locked or missing), so the key is kept in "
            f"{location.description}. When the keyring is unlocked, Settings can move the key into it."
        )

    def _set_busy(self, name: str, busy: bool) -> None:
        self.busy_row.setVisible(busy)
        self.primary.setEnabled(not busy)
        if self.form is not None:
            self.form.set_enabled(not busy)
        if self.preset_box is not None:
            self.preset_box.setEnabled(not busy)
        if self.name_edit is not None:
            self.name_edit.setReadOnly(busy)
        if self.on_busy is not None:
            self.on_busy(name, busy)
        self._busy_name = name if busy else None

    def _fail(self, line: str, *, error: bool = True) -> None:
        self.error.setText(line)
        self.error.setStyleSheet(ERROR_STYLE if error else "")
        self.error.show()
        self.grow()
        if error and self.form is not None:
            for row in self.form.rows.values():
                if row.field.secret:
                    row.edit.setFocus()
                    row.edit.selectAll()
                    break

    def cancel(self) -> None:
        """Cancel the login in progress; with none running, close the dialog."""
        if self.busy:
            assert self.task is not None
            self.task.cancel()
            question = self.question
            if question is not None and not question.finished:
                cancel = getattr(question, "cancel", None)
                if callable(cancel):
                    cancel()
            return
        self.reject()

    def done(self, result: int) -> None:  # every way of closing passes here
        if self.busy and self.task is not None:
            self.task.cancel()
        if result != QDialog.DialogCode.Accepted and self._added is not None:
            self._forget(self._added)
            self._added = None
        super().done(result)

    def showEvent(self, event: QShowEvent) -> None:
        """Wrapped help lines need their height for the dialog's width, which the first size
        (the plain size hint) does not give them: grow before the first paint."""
        super().showEvent(event)
        self.grow()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.done(QDialog.DialogCode.Rejected)
        event.accept()

    # ---- the flow's Asker ---------------------------------------------------------------------

    def ask(self, question: Question) -> None:
        self.question = question
        panel: QWidget
        if isinstance(question, BrowserSignIn):
            panel = BrowserSignInPanel(question, self.open_url, self.copy_text, self.broker.clock, self.pages)
        elif isinstance(question, DeviceCode):
            panel = DeviceCodePanel(question, self.open_url, self.copy_text, self.broker.clock, self.pages)
        else:
            return
        self._drop_panel()
        self.panel = panel
        self.pages.addWidget(panel)
        self.pages.setCurrentWidget(panel)
        self.show()
        self.grow()
        self.raise_()
        question.on_done(lambda q: self._back_to_form() if q is self.question else None)

    def _back_to_form(self) -> None:
        self.pages.setCurrentWidget(self.form_scroll)
        self._drop_panel()
        self.question = None

    def _drop_panel(self) -> None:
        if self.panel is not None:
            self.pages.removeWidget(self.panel)
            self.panel.deleteLater()
            self.panel = None
