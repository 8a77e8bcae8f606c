"""The desktop tray: PySide6 widgets on a qasync loop, talking to the core only through the broker
and the store. Importing this package imports Qt; the CLI reaches it only to start the tray."""
