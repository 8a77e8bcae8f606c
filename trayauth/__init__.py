"""trayauth keeps a developer's API tokens alive: a tray app and a CLI."""

__version__ = "0.1.0"
