"""Operating-system integration (autostart). ``APP_ID`` lives here, not in ``autostart``, so the
tray can name itself to the desktop without loading the autostart writers (plistlib, an XML
parser, configparser) that only Settings needs."""

from __future__ import annotations

# The reverse-DNS id the desktop knows the app by: .desktop file, notifications, LaunchAgent.
APP_ID = "io.github.trayauth.TrayAuth"
