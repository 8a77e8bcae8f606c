"""The tray's icons are PNGs rendered ahead of time from the SVGs (``packaging/icons.py
--resources``): each must still be what its SVG draws, at every size a tray host asks for, so an
edited SVG with stale PNGs fails here instead of showing the old icon."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from trayauth.ui.state.present import IconState
from trayauth.ui.widgets import icons

REPO = Path(__file__).resolve().parents[2]


def _renderer() -> ModuleType:
    """``packaging/icons.py`` by its path: the name ``packaging`` is a PyPI package's too."""
    spec = importlib.util.spec_from_file_location("trayauth_icon_renderer", REPO / "packaging" / "icons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _differing(a: QImage, b: QImage) -> int:
    """Pixels whose channels differ by more than a rounding step (antialiasing across Qt builds)."""
    a = a.convertToFormat(QImage.Format.Format_ARGB32)
    b = b.convertToFormat(QImage.Format.Format_ARGB32)
    assert a.size() == b.size()
    count = 0
    for y in range(a.height()):
        for x in range(a.width()):
            pa, pb = a.pixel(x, y), b.pixel(x, y)
            if max(abs(((pa >> s) & 0xFF) - ((pb >> s) & 0xFF)) for s in (0, 8, 16, 24)) > 8:
                count += 1
    return count


def test_every_png_is_what_its_svg_draws(qtbot: QtBot, tmp_path: Path) -> None:
    renderer = _renderer()
    checked = 0
    for svg, sizes in icons.sources():
        fresh = renderer.render(svg, tmp_path, sizes, stem=svg.stem)
        for size, path in zip(sizes, fresh, strict=True):
            shipped = icons.png_path(svg, size)
            assert shipped.is_file(), f"{shipped.name} is missing: python packaging/icons.py --resources"
            off = _differing(QImage(str(shipped)), QImage(str(path)))
            assert off <= size * size // 100, f"{shipped.name} differs from {svg.name} in {off} pixels"
            checked += 1
    assert checked == 2 * len(IconState) * len(icons.TRAY_SIZES) + len(icons.APP_SIZES)
    expected = {icons.png_path(svg, size).name for svg, sizes in icons.sources() for size in sizes}
    assert {p.name for p in icons.PNG_DIR.iterdir()} == expected  # nothing stale left behind


@pytest.mark.parametrize("state", list(IconState))
def test_the_tray_icon_has_each_size_and_reads_its_png_when_asked(qtbot: QtBot, state: IconState) -> None:
    icon = icons.tray_icon(state, template=False)
    assert {s.width() for s in icon.availableSizes()} == set(icons.TRAY_SIZES)
    for size in (22, 44):  # a panel at 1x and at 2x
        pixmap = icon.pixmap(QSize(size, size))
        assert not pixmap.isNull() and pixmap.width() <= size
    assert icons.tray_icon(state, template=True).isMask()
