#!/usr/bin/env bash
# Build the Linux one-folder bundle: dist/trayauth/ with both executables (trayauth, trayauth-tray),
# the desktop entry, AppStream metainfo, icon and a per-user install.sh.
#
#   packaging/build_bundle.sh             # the folder
#   packaging/build_bundle.sh --archive   # and dist/trayauth-VERSION-linux-ARCH.tar.gz
#
# PYTHON selects the interpreter whose environment is frozen (default: .venv/bin/python); it needs
# trayauth's `gui` extra and pyinstaller installed. DIST_DIR (default dist) and WORK_DIR (default
# build/pyinstaller) move the output and PyInstaller's work files.
set -euo pipefail
script="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$script")/.."

archive=0
for arg in "$@"; do
  case "$arg" in
    --archive) archive=1 ;;
    -h|--help) sed -n '2,10p' "$script"; exit 0 ;;
    *) echo "build_bundle: unknown option $arg" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-.venv/bin/python}
dist=${DIST_DIR:-dist}
work=${WORK_DIR:-build/pyinstaller}
if ! "$PYTHON" -c 'import PyInstaller' 2>/dev/null; then
  echo "build_bundle: PyInstaller is missing; run: $PYTHON -m pip install pyinstaller" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import PySide6.QtWidgets, qasync' 2>/dev/null; then
  echo "build_bundle: the tray's libraries are missing; run: $PYTHON -m pip install -e ." >&2
  exit 1
fi

app_id=io.github.trayauth.TrayAuth
version=$("$PYTHON" -c 'import re,sys; print(re.search(r"^__version__ = \"([^\"]+)\"", open("trayauth/__init__.py").read(), re.M).group(1))')

"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$dist" --workpath "$work" packaging/trayauth.spec

bundle=$dist/trayauth
install -Dm644 "packaging/linux/$app_id.desktop" "$bundle/share/applications/$app_id.desktop"
install -Dm644 "packaging/linux/$app_id.metainfo.xml" "$bundle/share/metainfo/$app_id.metainfo.xml"
if [ -f trayauth/resources/icons/app.svg ]; then
  install -Dm644 trayauth/resources/icons/app.svg "$bundle/share/icons/hicolor/scalable/apps/$app_id.svg"
else
  echo "build_bundle: warning: trayauth/resources/icons/app.svg is missing; the bundle has no menu icon" >&2
fi
install -Dm755 packaging/linux/install.sh "$bundle/install.sh"

echo "build_bundle: $bundle ($(du -sh "$bundle" | cut -f1)), trayauth $version"
if [ "$archive" = 1 ]; then
  tarball="$dist/trayauth-$version-linux-$(uname -m).tar.gz"
  tar -C "$dist" -czf "$tarball" trayauth
  echo "build_bundle: $tarball ($(du -sh "$tarball" | cut -f1))"
fi
