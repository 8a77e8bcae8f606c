"""The tray's windows: login (generated from a preset's fields), sign-in panels, inspect, settings."""
