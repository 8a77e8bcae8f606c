"""Icons for each state, drawn once and cached.

The tray icon is an SVG per state (``resources/icons/tray-<state>.svg``): a light key with a dark
outline, so it reads on dark and light panels, and a coloured badge. macOS menu bars want a
template image (black plus alpha, tinted by the system), so there the ``-template`` variants are
used and marked as masks; their badges differ by shape, not colour.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtSvg import QSvgRenderer

from trayauth.ui.state.present import IconState

ICON_DIR = Path(__file__).resolve().parents[2] / "resources" / "icons"
TRAY_SIZES = (16, 22, 24, 32, 48, 64)

COLOURS = {
    IconState.OK: "#2e9d4f",
    IconState.EXPIRING: "#f2a900",
    IconState.FAILING: "#d93025",
    IconState.WORKING: "#1a73e8",
    IconState.IDLE: "#9aa5ab",
}


def use_template() -> bool:
    return sys.platform == "darwin"


def icon_path(state: IconState, template: bool = False) -> Path:
    return ICON_DIR / f"tray-{state.value}{'-template' if template else ''}.svg"


def _render(path: Path, sizes: tuple[int, ...]) -> QIcon:
    """Pre-rendered pixmaps: a tray host asks for odd sizes, and re-rendering an SVG each time
    it repaints would cost more than the few kilobytes these take."""
    renderer = QSvgRenderer(str(path))
    icon = QIcon()
    for size in sizes:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        icon.addPixmap(pixmap)
    return icon


@cache
def tray_icon(state: IconState, template: bool | None = None) -> QIcon:
    mask = use_template() if template is None else template
    icon = _render(icon_path(state, mask), TRAY_SIZES)
    icon.setIsMask(mask)
    return icon


@cache
def app_icon() -> QIcon:
    return _render(ICON_DIR / "app.svg", (16, 32, 48, 64, 128, 256))


@cache
def dot_icon(state: IconState) -> QIcon:
    """The small coloured dot in front of each account's row."""
    icon = QIcon()
    for size in (12, 16, 24, 32):
        pixmap = QPixmap(QSize(size, size))
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor(COLOURS[state])
        painter.setPen(QPen(colour.darker(140), max(1.0, size / 12)))
        painter.setBrush(colour)
        inset = size * 0.2
        painter.drawEllipse(QRectF(inset, inset, size - 2 * inset, size - 2 * inset))
        painter.end()
        icon.addPixmap(pixmap)
    return icon


@cache
def reveal_icon() -> QIcon:
    """An eye, drawn in the palette's text colour: the show-secret toggle where the icon theme
    has no ``view-reveal-symbolic``."""
    colour = QGuiApplication.palette().color(QPalette.ColorRole.Text)
    icon = QIcon()
    for size in (16, 24, 32):
        pixmap = QPixmap(QSize(size, size))
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colour, max(1.0, size / 12)))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(QRectF(size * 0.08, size * 0.28, size * 0.84, size * 0.44))
        painter.setBrush(colour)
        painter.drawEllipse(QRectF(size * 0.38, size * 0.38, size * 0.24, size * 0.24))
        painter.end()
        icon.addPixmap(pixmap)
    return icon
