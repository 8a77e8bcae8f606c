"""The tray's plumbing on Qt: clipboard, notifications, wake-up signal, account-list watcher,
the session that wires the parts, and starting Qt itself. Importing this package alone loads no
Qt (the pre-flight checks in ``display`` run before Qt is imported)."""
