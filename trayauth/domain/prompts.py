"""Questions a flow asks the user, as plain objects.

A flow never talks to a terminal or a dialog. It creates a question, hands it to an ``Asker`` and
awaits the answer; the CLI answers on stderr/stdin, the tray with a dialog. Tests answer them
directly (playing the browser).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class Question:
    """Something shown to the user until it is answered, cancelled or times out."""

    account: str

    def __init__(self, account: str) -> None:
        self.account = account
        self._done_callbacks: list[Callable[[Question], None]] = []
        self.finished = False

    def on_done(self, callback: Callable[[Question], None]) -> None:
        """Let a UI close its dialog when the flow no longer waits for this question."""
        if self.finished:
            callback(self)
        else:
            self._done_callbacks.append(callback)

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        for cb in self._done_callbacks:
            cb(self)
        self._done_callbacks.clear()


class BrowserSignIn(Question):
    """ "Open this URL in the browser"; answered by the loopback redirect or a pasted redirect URL.

    ``submit_redirect`` is the manual path for a browser that cannot reach the loopback (SSH,
    WSL): it validates like the loopback server does and raises ``TrayauthError`` on a bad URL,
    leaving the question open.
    """

    def __init__(
        self,
        account: str,
        url: str,
        deadline: float,
        submit: Callable[[str], None],
        cancel: Callable[[], None],
    ) -> None:
        super().__init__(account)
        self.url = url
        self.deadline = deadline
        self._submit = submit
        self._cancel = cancel

    def submit_redirect(self, redirect_url: str) -> None:
        self._submit(redirect_url)

    def cancel(self) -> None:
        self._cancel()


class DeviceCode(Question):
    """RFC 8628: "go to ``verification_uri`` and enter ``user_code``"; answered on the server."""

    def __init__(
        self,
        account: str,
        verification_uri: str,
        user_code: str,
        deadline: float,
        cancel: Callable[[], None],
        verification_uri_complete: str | None = None,
    ) -> None:
        super().__init__(account)
        self.verification_uri = verification_uri
        self.user_code = user_code
        self.verification_uri_complete = verification_uri_complete
        self.deadline = deadline
        self._cancel = cancel

    def cancel(self) -> None:
        self._cancel()


class Asker(Protocol):
    """Shows questions. ``ask`` must not block: the flow keeps running while it is shown."""

    def ask(self, question: Question) -> None: ...


@dataclass
class RecordingAsker:
    """An asker that only remembers: for tests and for callers that poll questions themselves."""

    questions: list[Question] = field(default_factory=list)
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def ask(self, question: Question) -> None:
        self.questions.append(question)
        self.event.set()
