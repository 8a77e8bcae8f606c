"""Icons for each state, made once and cached.

The tray icon is drawn as an SVG per state (``resources/icons/tray-<state>.svg``): a light key
with a dark outline, so it reads on dark and light panels, and a coloured badge. macOS menu bars
want a template image (black plus alpha, tinted by the system), so there the ``-template``
variants are used and marked as masks; their badges differ by shape, not colour.

The tray shows those SVGs as PNGs rendered ahead of time at each size a tray host asks for
(``python packaging/icons.py --resources``; tests/gui/test_icons.py holds them to their SVGs).
Rendering at run time loaded Qt's SVG module and its parser into a process that runs all day:
2.3 MiB, more than a tenth of what the tray held beyond a bare Qt tray. QIcon reads a PNG only
when a size is first asked for.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPen, QPixmap

from trayauth.ui.state.present import IconState

ICON_DIR = Path(__file__).resolve().parents[2] / "resources" / "icons"
PNG_DIR = ICON_DIR / "png"
TRAY_SIZES = (16, 22, 24, 32, 48, 64)
APP_SIZES = (16, 32, 48, 64, 128, 256)

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


def sources() -> list[tuple[Path, tuple[int, ...]]]:
    """Each drawn icon with the sizes it is shown at: what ``resources/icons/png`` holds."""
    found = [(icon_path(state, template), TRAY_SIZES) for state in IconState for template in (False, True)]
    return [*found, (ICON_DIR / "app.svg", APP_SIZES)]


def png_path(svg: Path, size: int) -> Path:
    return PNG_DIR / f"{svg.stem}-{size}.png"


def _from_pngs(svg: Path, sizes: tuple[int, ...]) -> QIcon:
    icon = QIcon()
    for size in sizes:
        icon.addFile(str(png_path(svg, size)), QSize(size, size))
    return icon


@cache
def tray_icon(state: IconState, template: bool | None = None) -> QIcon:
    mask = use_template() if template is None else template
    icon = _from_pngs(icon_path(state, mask), TRAY_SIZES)
    icon.setIsMask(mask)
    return icon


@cache
def app_icon() -> QIcon:
    return _from_pngs(ICON_DIR / "app.svg", APP_SIZES)


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
