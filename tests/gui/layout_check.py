"""Does a dialog fit? Every field at least its size hint tall, no two widgets overlapping, every
label's text fully shown, the form rows of one column lined up, and the window within its screen
— checked on the laid-out widgets, the way a person would look.

``tests/gui/layout_dialogs.py`` builds every dialog the tray shows and runs these checks on each;
the test runs it once per QT_SCALE_FACTOR (read once, when Qt starts) on a 1920x1080 screen.
"""

from __future__ import annotations

import os
from collections import defaultdict

from PySide6.QtCore import QEvent, QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFormLayout,
    QLabel,
    QLayoutItem,
    QLineEdit,
    QWidget,
)

FIELDS = (QLineEdit, QComboBox, QAbstractSpinBox, QAbstractButton)


def _visible(widget: QWidget, root: QWidget) -> bool:
    return widget.isVisibleTo(root) and widget.width() > 0 and widget.height() > 0


def _rect(widget: QWidget, root: QWidget) -> QRect:
    """The part of ``widget`` one can see in ``root``: clipped by every parent (a scroll area's
    viewport hides what is scrolled away)."""
    rect = QRect(widget.mapTo(root, widget.rect().topLeft()), widget.size())
    parent = widget.parentWidget()
    while parent is not None and parent is not root:
        rect = rect.intersected(QRect(parent.mapTo(root, parent.rect().topLeft()), parent.size()))
        parent = parent.parentWidget()
    return rect


def problems(root: QWidget, where: str) -> list[str]:
    return [*_leaf_problems(root, where), *misaligned(root, where), *off_screen(root, where)]


def _leaf_problems(root: QWidget, where: str) -> list[str]:
    found: list[str] = []
    kinds = (*FIELDS, QLabel)
    leaves = [w for w in root.findChildren(QWidget) if isinstance(w, kinds) and _visible(w, root)]
    # Widgets inside another leaf (a line edit's clear button, a spin box's line edit) are its own.
    leaves = [w for w in leaves if not any(o is not w and o.isAncestorOf(w) for o in leaves)]
    for w in leaves:
        text = w.text() if isinstance(w, (QLabel, QAbstractButton)) else ""
        name = w.objectName() or text or type(w).__name__
        if isinstance(w, FIELDS) and w.height() < w.sizeHint().height():
            found.append(f"{where}: {name!r} squeezed to {w.height()} px < {w.sizeHint().height()} px")
        if isinstance(w, QLabel) and w.text() and w.pixmap().isNull() is not False:
            if w.wordWrap():
                need = w.heightForWidth(w.width())
                if need > w.height() + 1:
                    found.append(f"{where}: label {w.text()[:40]!r} cut: {w.height()} px < {need} px")
            elif w.width() + 1 < w.sizeHint().width() or w.height() + 1 < w.sizeHint().height():
                found.append(f"{where}: label {w.text()[:40]!r} cut ({w.width()}x{w.height()} < hint)")
    rects = [(w, _rect(w, root)) for w in leaves]
    for w, seen in rects:
        # Scrolled out of view at the top or bottom is fine (the area scrolls that way); cut at
        # the side is not: the dialogs' scroll areas never scroll sideways.
        if not seen.isEmpty() and seen.width() + 1 < w.width():
            name = w.objectName() or (w.text() if isinstance(w, (QLabel, QAbstractButton)) else "")
            found.append(
                f"{where}: {name or type(w).__name__!r} cut at the side: "
                f"{seen.width()} of {w.width()} px shown"
            )
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1 :]:
            overlap = ra.intersected(rb)
            if overlap.width() > 1 and overlap.height() > 1:
                first, second = a.objectName() or type(a).__name__, b.objectName() or type(b).__name__
                found.append(f"{where}: {first} overlaps {second}")
    return found


def _left(form: QFormLayout, item: QLayoutItem, root: QWidget) -> int:
    parent = form.parentWidget()
    assert parent is not None
    return parent.mapTo(root, QPoint(item.geometry().left(), 0)).x()


def _item_name(item: QLayoutItem) -> str:
    widget = item.widget()
    if widget is None:
        return "a layout"
    text = widget.text() if isinstance(widget, (QLabel, QAbstractButton)) else ""
    return repr(text or widget.objectName() or type(widget).__name__)


def misaligned(root: QWidget, where: str) -> list[str]:
    """Form rows stacked in one column (their labels start at the same x) put their fields at the
    same x too: two forms one above the other, each with its own label width, show as a ragged
    field column (the Add dialog's Provider and Account name rows against the preset's fields)."""
    columns: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for form in root.findChildren(QFormLayout):
        parent = form.parentWidget()
        if parent is None or not (parent is root or parent.isVisibleTo(root)):
            continue
        for row in range(form.rowCount()):
            label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if label is None or field is None or not form.isRowVisible(row):
                continue
            if field.widget() is not None and not field.widget().isVisibleTo(root):
                continue
            columns[_left(form, label, root)].append((_left(form, field, root), _item_name(label)))
    found: list[str] = []
    for rows in columns.values():
        lefts = sorted({x for x, _ in rows})
        if len(lefts) > 1 and lefts[-1] - lefts[0] > 1:
            first = next(name for x, name in rows if x == lefts[0])
            last = next(name for x, name in rows if x == lefts[-1])
            found.append(
                f"{where}: fields not lined up: {first}'s at x={lefts[0]}, {last}'s at x={lefts[-1]}"
            )
    return found


def off_screen(root: QWidget, where: str) -> list[str]:
    """A window larger than its screen's free area has parts nobody can reach."""
    screen = root.screen()
    if not root.isWindow() or screen is None:
        return []
    frame, free = root.frameGeometry(), screen.availableGeometry()
    if frame.width() > free.width() or frame.height() > free.height():
        return [
            f"{where}: {frame.width()}x{frame.height()} does not fit the screen's "
            f"{free.width()}x{free.height()}"
        ]
    return []


def settle(app: QApplication, widget: QWidget) -> None:
    widget.show()
    for _ in range(int(os.environ.get("SETTLE", "5"))):
        app.processEvents()
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
