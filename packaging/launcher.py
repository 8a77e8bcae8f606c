"""Entry script of the frozen app: both executables run the ``trayauth`` command.

``trayauth-tray`` (no console window on Windows, the .app's executable on macOS) is started with
no arguments, which starts the tray; ``trayauth`` is the CLI with a console. Going through the CLI
keeps one behaviour for both: its one-line errors, ``demo``, and every subcommand.
"""

from __future__ import annotations

import sys

from trayauth.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
