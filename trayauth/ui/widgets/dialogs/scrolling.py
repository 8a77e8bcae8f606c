"""A dialog body that scrolls rather than squeezes, and a dialog height that fits the screen.

A dialog's rows with wrapped help lines, at QT_SCALE_FACTOR=2, can be taller than a laptop screen
(1080 pixels at 2x is 540 logical ones). Qt's answer to "too little room" is to share the
shortfall out among the rows, squeezing fields into thin bars and clipping their help. Here the
body sits in a scroll area instead, and the dialog grows to show all of it where the screen has
room, and scrolls where it has not. The Settings dialog uses this; the Add / Log in dialog keeps
its own variant (its body changes with the provider).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFrame, QScrollArea, QVBoxLayout, QWidget

# Of the screen's free height, what a dialog may take: the rest is for the window's title bar
# and frame, which Qt does not count in the dialog's own height.
SCREEN_SHARE = 0.9


def scroll_body(parent: QWidget, name: str) -> tuple[QScrollArea, QWidget, QVBoxLayout]:
    """A frameless, vertically scrolling area, the widget inside it and that widget's layout."""
    scroll = QScrollArea(parent)
    scroll.setObjectName(name)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    body = QWidget(scroll)
    layout = QVBoxLayout(body)
    layout.setContentsMargins(0, 0, 0, 0)
    scroll.setWidget(body)
    return scroll, body, layout


def screen_height(widget: QWidget) -> int | None:
    """The most height a window of ``widget``'s may take on its screen, in logical pixels."""
    screen = widget.screen()
    if screen is None:
        return None
    return int(screen.availableGeometry().height() * SCREEN_SHARE)


def fit_to_screen(dialog: QDialog, scroll: QScrollArea) -> None:
    """Resize ``dialog`` so its scrolled body is shown whole, or as much of it as the screen
    allows. The body's height is taken for the width it really has with a scroll bar showing
    (help lines then wrap once more; a little spare height costs nothing, a missing line squeezes
    a field), and set as the body's minimum so the scroll area scrolls instead of squeezing."""
    layout = dialog.layout()
    body = scroll.widget()
    inner = body.layout() if body is not None else None
    if layout is None or body is None or inner is None:
        return
    layout.activate()
    width = max(dialog.width(), dialog.sizeHint().width())
    margins = layout.contentsMargins()
    bar = scroll.verticalScrollBar().sizeHint().width()
    body_width = max(1, width - margins.left() - margins.right() - bar)
    if inner.hasHeightForWidth():
        need = max(inner.totalHeightForWidth(body_width), inner.totalMinimumSize().height())
    else:
        need = inner.totalSizeHint().height()
    # Everything around the scroll area (heading, error line, buttons, margins, spacing).
    chrome = layout.totalSizeHint().height() - scroll.sizeHint().height()
    body.setMinimumHeight(need)
    height = need + chrome + 2 * scroll.frameWidth()
    limit = screen_height(dialog)
    if limit is not None:
        height = min(height, limit)
    height = max(height, layout.totalMinimumSize().height())
    if height != dialog.height() or width != dialog.width():
        dialog.resize(width, height)
