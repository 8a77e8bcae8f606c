#!/usr/bin/env bash
# CI's packaging step: the wheel carries its resources and runs from a fresh venv (`trayauth demo`
# headless), the desktop metadata validates, and the Linux PyInstaller bundle builds and starts.
# Runs after scripts/test.sh has made .venv; installs what the packaging tests need, then runs them
# with TRAYAUTH_PACKAGING_TESTS=1 so a missing tool fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 QT_QPA_PLATFORM=offscreen

# desktop-file-validate and appstreamcli check the .desktop and metainfo files; binutils is what
# PyInstaller inspects binaries with; the rest is what Qt's offscreen platform loads.
apt_packages=(desktop-file-utils appstream binutils libegl1 libgl1 libxkbcommon0 libfontconfig1
  libdbus-1-3 libglib2.0-0)
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  if ! apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  fi
fi

[ -x .venv/bin/python ] || { echo "packaging: run scripts/test.sh first (it makes .venv)" >&2; exit 1; }
.venv/bin/python -m pip install -q 'build>=1.2' 'pyinstaller>=6.10'

started=$SECONDS
TRAYAUTH_PACKAGING_TESTS=1 .venv/bin/python -m pytest -p no:cacheprovider -v --durations=10 tests/packaging "$@"
echo "packaging: tests took $((SECONDS - started)) s"
