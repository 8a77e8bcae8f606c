"""The headless core: no Qt here, so the CLI and non-GUI tests stay light."""
