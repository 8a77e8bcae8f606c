"""Keyboard and feedback in the dialogs: Tab goes down the dialog as it reads, a destructive
question defaults to its safe answer, the reveal toggle is visible without an icon theme, and
every copy button says it copied."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QWidget

from tests.gui.test_dialogs import login_dialog
from tests.support.qt import Rig, Runner, until
from trayauth.domain.presets import PresetCatalog
from trayauth.ui.widgets.actions import confirm_box
from trayauth.ui.widgets.dialogs.fields import FieldForm
from trayauth.ui.widgets.dialogs.signin import BrowserSignInPanel


def tab_chain(start: QWidget, root: QWidget, count: int) -> list[QWidget]:
    """The widgets Tab visits from ``start``, as Qt's focus chain orders them."""
    seen: list[QWidget] = [start]
    widget = start
    while len(seen) < count:
        widget = widget.nextInFocusChain()
        if widget is start:
            break
        takes_tab = bool(widget.focusPolicy().value & 0x1)  # Qt.TabFocus
        if takes_tab and widget.isVisibleTo(root) and widget.isEnabled() and root.isAncestorOf(widget):
            seen.append(widget)
    return seen


def test_tab_goes_down_the_add_dialog_as_it_reads(rig: Rig) -> None:
    dialog = login_dialog(rig, None)
    dialog.select_preset("oauth2")
    QApplication.processEvents()  # a new form's fields are shown on the next turn of the loop
    assert dialog.form is not None and dialog.preset_box is not None and dialog.name_edit is not None
    fields = [row.edit for row in dialog.form.rows.values()]
    chain = tab_chain(dialog.preset_box, dialog, 4 + len(fields))
    assert chain[:2] == [dialog.preset_box, dialog.name_edit]
    assert chain[2 : 2 + len(fields)] == fields
    assert chain[2 + len(fields) :] == [dialog.primary, dialog.cancel_button]
    # Shift+Tab from the account name lands on the provider, not on a field at the bottom.
    assert dialog.name_edit.previousInFocusChain() is dialog.preset_box
    dialog.reject()


def test_remove_asks_with_cancel_as_the_default() -> None:
    box = confirm_box("Remove account", "Remove the account work?", "Remove")
    cancel = box.button(QMessageBox.StandardButton.Cancel)
    assert box.defaultButton() is cancel
    assert box.escapeButton() is cancel
    do = box.findChild(QPushButton, "confirm_do")
    assert do is not None and do.text() == "Remove"
    box.deleteLater()


def test_the_reveal_toggle_is_visible_without_an_icon_theme(qapp: Any) -> None:
    preset = PresetCatalog().get("sentiance")
    form = FieldForm(preset.fields)
    row = form.rows["password"]
    assert not row.reveal.icon().isNull()
    row.reveal.trigger()
    assert row.reveal.text() == "Hide"
    form.deleteLater()


def test_copy_link_says_it_copied(rig: Rig, run: Runner) -> None:
    from tests.gui.test_dialogs import add_oauth

    add_oauth(rig)
    copied: list[str] = []
    dialog = login_dialog(rig, "sso")
    dialog.copy_text = copied.append
    dialog.start()
    run(until(lambda: isinstance(dialog.panel, BrowserSignInPanel), what="the sign-in panel"))
    panel = dialog.panel
    assert isinstance(panel, BrowserSignInPanel)
    button = panel.findChild(QPushButton, "copy_link")
    assert button is not None and button.text() == "Copy link"
    button.click()
    assert copied == [panel.url.text()]
    assert button.text() == "Copied ✓"
    run(until(lambda: button.text() == "Copy link", what="the label back"))
    task = dialog.task
    dialog.reject()  # cancels the sign-in that waits for the browser
    run(until(lambda: task is None or task.done(), what="the sign-in to stop"))
