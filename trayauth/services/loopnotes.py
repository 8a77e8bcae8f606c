"""What the tray's event loop reports on its own (a failed accept, a callback's error): one line
each, once, never a traceback.

asyncio's default handler prints a full traceback per event, so a flood of connections with the
file limit reached printed thousands of them (issue 9). Whatever it was, the tray carries on;
the user gets one line naming it, and the same kind of event is not repeated.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


class OneLineLoopNotes:
    """An asyncio exception handler: ``loop.set_exception_handler(OneLineLoopNotes())``."""

    def __init__(self, say: Callable[[str], None] | None = None) -> None:
        self._say = say or _stderr
        self._seen: set[tuple[str, str]] = set()
        self.suppressed = 0

    def __call__(self, loop: Any, context: dict[str, Any]) -> None:
        message = str(context.get("message") or "event loop error")
        exc = context.get("exception")
        kind = exc.__class__.__name__ if isinstance(exc, BaseException) else ""
        key = (message, kind)
        if key in self._seen:
            self.suppressed += 1
            return
        self._seen.add(key)
        detail = ""
        if isinstance(exc, BaseException):
            text = " ".join(str(exc).split())[:160]
            detail = f" ({kind}: {text})" if text else f" ({kind})"
        line = " ".join(message.split())[:200]
        self._say(f"{line}{detail}; further ones are not shown")


def _stderr(line: str) -> None:
    print(f"trayauth: {line}", file=sys.stderr, flush=True)
