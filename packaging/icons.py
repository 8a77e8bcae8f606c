"""Render the app icon (SVG) to the PNGs that bundles and icon themes need.

PyInstaller turns a PNG into the Windows ``.ico`` and the macOS ``.icns`` itself (with Pillow),
so one SVG in ``trayauth/resources/icons`` stays the only drawn source. Qt renders it, because
Qt is already in every environment that builds a bundle.

    python packaging/icons.py OUT_DIR [SIZE ...]   # writes OUT_DIR/trayauth-SIZE.png
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_SVG = ROOT / "trayauth" / "resources" / "icons" / "app.svg"
SIZES = (16, 32, 48, 64, 128, 256, 512, 1024)


def render(svg: Path, out_dir: Path, sizes: tuple[int, ...] = SIZES) -> list[Path]:
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
        target = out_dir / f"trayauth-{size}.png"
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"icons: cannot write {target}")
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    sizes = tuple(int(s) for s in argv[1:]) or SIZES
    for path in render(APP_SVG, Path(argv[0]), sizes):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
