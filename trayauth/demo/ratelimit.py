"""A sliding-window request limit, as Senseye's token endpoint has (HTTP 429 + Retry-After)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._seen: dict[str, deque[float]] = {}

    def admit(self, key: str, limit: int, window: float) -> int | None:
        """None if the request may proceed (and counts), else whole seconds to wait.

        Refused requests do not count, so a client that honours Retry-After gets in on time.
        """
        now = self._now()
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - window:
            seen.popleft()
        if len(seen) >= limit:
            return max(1, math.ceil(seen[0] + window - now))
        seen.append(now)
        return None

    def reset(self) -> None:
        self._seen.clear()
