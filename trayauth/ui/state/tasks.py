"""Coroutines the UI starts (a copy, a refresh, a login), kept track of so none is lost.

A task started from a menu click must not vanish when its only reference goes (asyncio keeps
weak references), must report its failure somewhere a person sees it, and must be cancellable
(a login dialog's Cancel) and cancelled at quit. Keyed tasks run once at a time: a second
"refresh now" while one runs joins the first instead of renewing twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Tasks:
    def __init__(
        self,
        on_error: Callable[[BaseException], None] | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        # The loop is taken once: a Qt slot may run while the loop is between iterations (a
        # nested dialog loop, a test), where "the running loop" is not set but ours still is.
        self._loop = loop or asyncio.get_event_loop()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._keyed: dict[str, asyncio.Task[Any]] = {}
        self._on_error = on_error

    def spawn(self, coro: Coroutine[Any, Any, T], key: str | None = None) -> asyncio.Task[T]:
        if key is not None:
            running = self._keyed.get(key)
            if running is not None and not running.done():
                coro.close()
                return running
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        if key is not None:
            self._keyed[key] = task
        task.add_done_callback(lambda t: self._done(t, key))
        return task

    def _done(self, task: asyncio.Task[Any], key: str | None) -> None:
        self._tasks.discard(task)
        if key is not None and self._keyed.get(key) is task:
            del self._keyed[key]
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and self._on_error is not None:
            self._on_error(exc)

    def running(self, key: str) -> bool:
        task = self._keyed.get(key)
        return task is not None and not task.done()

    def __len__(self) -> int:
        return len(self._tasks)

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
