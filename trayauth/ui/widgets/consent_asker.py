"""The consent gate's asker in the tray: each question the agent raises becomes a dialog.

Created at start, while the dialog's module (:mod:`trayauth.ui.widgets.consent`) loads with the
first question: most trays never ask one, and what a tray imports stays resident all day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trayauth.ui import deferred

if TYPE_CHECKING:
    from trayauth.domain.consent import ConsentQuestion
    from trayauth.ui.widgets.consent import ConsentDialog


class ConsentAsker:
    """The gate's ``asker``: one dialog per question, kept alive while it is shown."""

    def __init__(self) -> None:
        self.open: list[ConsentDialog] = []

    def __call__(self, question: ConsentQuestion) -> None:
        dialog = deferred.consent_dialog()(question)
        self.open.append(dialog)
        dialog.finished.connect(lambda _r, d=dialog: self._forget(d))
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _forget(self, dialog: ConsentDialog) -> None:
        if dialog in self.open:
            self.open.remove(dialog)
        dialog.deleteLater()
