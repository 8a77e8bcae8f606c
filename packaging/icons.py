"""Render the icons (SVG) to the PNGs that bundles, icon themes and the tray itself use.

PyInstaller turns a PNG into the Windows ``.ico`` and the macOS ``.icns`` itself (with Pillow),
so the SVGs in ``trayauth/resources/icons`` stay the only drawn sources. Qt renders them, because
Qt is already in every environment that builds a bundle.

The running tray shows PNGs rendered from those SVGs ahead of time (``resources/icons/png``): it
then never loads Qt's SVG module nor parses an SVG, which held 2.3 MiB for as long as it ran.
``tests/gui/test_icons.py`` fails when a PNG no longer matches its SVG.

    python packaging/icons.py OUT_DIR [SIZE ...]   # writes OUT_DIR/trayauth-SIZE.png
    python packaging/icons.py --resources          # (re)writes trayauth/resources/icons/png
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_SVG = ROOT / "trayauth" / "resources" / "icons" / "app.svg"
SIZES = (16, 32, 48, 64, 128, 256, 512, 1024)


def render(svg: Path, out_dir: Path, sizes: tuple[int, ...] = SIZES, stem: str = "trayauth") -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"icons: {svg} is not a valid SVG")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        target = out_dir / f"{stem}-{size}.png"
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"icons: cannot write {target}")
        written.append(target)
    return written


def resources() -> list[Path]:
    """Every icon the tray shows, at every size it asks for, into ``resources/icons/png``."""
    from trayauth.ui.widgets import icons

    written = []
    for svg, sizes in icons.sources():
        written += render(svg, icons.PNG_DIR, sizes, stem=svg.stem)
    return written


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    if argv == ["--resources"]:
        for path in resources():
            print(path.relative_to(ROOT))
        return 0
    sizes = tuple(int(s) for s in argv[1:]) or SIZES
    for path in render(APP_SVG, Path(argv[0]), sizes):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
