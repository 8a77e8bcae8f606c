"""Background renewal: wake when the next token falls due, renew, back off on failure.

It sleeps until the earliest due moment, but never longer than ``max_sleep``: monotonic timers
stop during a suspend, so after a laptop wakes the wall clock is re-read within that bound and
everything that fell due meanwhile is renewed at once. Non-renewable tokens get one "expiring"
and one "expired" event each, so the tray can notify once per event, never in a storm.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from trayauth.domain.errors import LoginRequired, TrayauthError
from trayauth.domain.events import AccountEvent, EventKind
from trayauth.domain.model import State
from trayauth.domain.steps import NextStep
from trayauth.domain.text import span
from trayauth.domain.tokens import needs_renewal
from trayauth.services.broker import AccountView, Broker
from trayauth.storage.trust import storage_error

BACKOFF_FIRST = 15.0
BACKOFF_MAX = 600.0
# Renewals started per look. Each start costs the event loop a few milliseconds of store work
# (read the account, mark the refresh in flight, fsync); starting every due account in one look
# would run all of that in one turn of the loop and freeze the tray (200 accounts: seconds).
# The rest start at the next look, one turn of the loop later.
START_BURST = 4


@dataclass
class _Failure:
    count: int
    retry_at: float


class RenewalScheduler:
    def __init__(
        self,
        broker: Broker,
        *,
        clock: Callable[[], float] = time.time,
        max_sleep: float = 60.0,
        notify_lead: Callable[[], float] = lambda: 300.0,
        wait: Callable[[asyncio.Event, float], Awaitable[None]] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.broker = broker
        self.clock = clock
        self.max_sleep = max_sleep
        self.notify_lead = notify_lead
        self._wake = asyncio.Event()
        self._failures: dict[str, _Failure] = {}
        self._announced: set[tuple[str, EventKind, float]] = set()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wait = wait or _wait_event
        self._last_look: float | None = None
        self.wakeups = 0
        self._log = log or _log_stderr
        self._logged: dict[str, str] = {}  # the last failure logged per account: each is said once

    @property
    def renewing(self) -> frozenset[str]:
        """The accounts whose background renewal is in flight right now."""
        return frozenset(self._tasks)

    async def settle(self) -> int:
        """Until the renewals in flight have ended (each records its outcome); how many there were.

        The scheduler's own loop never waits for them; a caller stepping it look by look does.
        """
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.gather(*tasks)
        return len(tasks)

    def poke(self) -> None:
        """Re-plan now: after a login, a settings change, a resume from suspend."""
        self._failures.clear()
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                delay = await self.tick()
                self._wake.clear()
                await self._wait(self._wake, delay)
        finally:
            # Ended, not just told to end: the caller closes the HTTP client and the store next.
            tasks = list(self._tasks.values())
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    async def tick(self) -> float:
        """Start every renewal that is due; return how long to sleep before the next look."""
        self.wakeups += 1
        now = self.clock()
        self._follow_clock(now)
        try:
            views = self.broker.accounts()
        except Exception as exc:  # a vault or config that cannot be read now: look again later
            self._say("", _problem(exc).message)
            return self.max_sleep
        next_at = now + self.max_sleep
        started = 0
        for view in views:
            if not self.broker.is_renewing(view.name):  # mid-refresh, a rotating token looks unrenewable
                self._announce(view, now)
            # The announcement moments first: a token that never renews has no due moment, and
            # its "expires soon" / "expired" must still wake the scheduler on time.
            for lead_at in self._announce_times(view):
                if lead_at > now:
                    next_at = min(next_at, lead_at)
            due = self._due_at(view, now)
            if due is None:
                continue
            if due <= now and view.name not in self._tasks:
                if started < START_BURST:
                    self._tasks[view.name] = asyncio.ensure_future(self._renew(view.name))
                    started += 1
                else:
                    next_at = now  # more are due: look again soon
            elif due > now:
                next_at = min(next_at, due)
        return max(0.05, next_at - now)

    def _follow_clock(self, now: float) -> None:
        """A backoff is a wait, not a moment: when the wall clock goes back (set right after running
        ahead, a VM restored), pending retries go back with it instead of waiting out the jump."""
        last, self._last_look = self._last_look, now
        if last is not None and now < last:
            for failure in self._failures.values():
                failure.retry_at -= last - now

    def _due_at(self, view: AccountView, now: float) -> float | None:
        failure = self._failures.get(view.name)
        if failure is not None:
            return failure.retry_at
        due = view.renew_at
        if view.error and view.renewable and view.state != State.LOGGED_OUT and (due is None or due > now):
            # A failed renewal the scheduler did not see (a "Refresh now", a tray restarted after
            # one) is retried on the usual backoff, so the error goes as soon as the provider is
            # back instead of staying until the token next falls due.
            self._failures[view.name] = _Failure(1, now + BACKOFF_FIRST)
            return now + BACKOFF_FIRST
        return due

    def _announce_times(self, view: AccountView) -> list[float]:
        if view.renewable or view.expires_at is None:
            return []
        return [view.expires_at - self.notify_lead(), view.expires_at]

    def _announce(self, view: AccountView, now: float) -> None:
        if view.renewable or view.expires_at is None or view.state == State.LOGGED_OUT:
            return
        if now >= view.expires_at:
            kind = EventKind.EXPIRED
        elif now >= view.expires_at - self.notify_lead():
            kind = EventKind.EXPIRING
        else:
            return
        key = (view.name, kind, view.expires_at)
        if key in self._announced:
            return
        self._announced.add(key)
        what = "the pasted token" if view.pasted else "the token"
        message = (
            f"{view.name}: {what} expired and cannot renew itself"
            if kind is EventKind.EXPIRED
            else f"{view.name}: {what} expires in {span(view.expires_at - now)} and cannot renew itself"
        )
        step = NextStep.paste_new(view.name) if view.pasted else NextStep.log_in(view.name)
        self.broker.publish(AccountEvent(kind, view.name, message, step))

    async def _renew(self, name: str) -> None:
        try:
            tokens = await self.broker.refresh(name)
        except LoginRequired:
            # Nothing more to try in the background: the user has been told (login_needed).
            self._failures[name] = _Failure(1, float("inf"))
        except TrayauthError as exc:
            exc.about(name)  # shown on the account: it names it
            self._back_off(name)
            # Shown on the account even when it failed before the broker could record it (the
            # account lock on a read-only folder); a later recorded failure or success replaces it.
            self.broker.note_error(name, exc.message, exc.next_step)
            self._say(name, exc.message)
        except Exception as exc:
            # Anything else (an OSError the storage layer did not expect, a bug) waits like any
            # failure: retrying at once would spin the CPU and flood the log.
            self._back_off(name)
            problem = _problem(exc).about(name)
            self.broker.note_error(name, problem.message, problem.next_step)
            self._say(name, problem.message)
        else:
            self._logged.pop(name, None)
            if needs_renewal(tokens, self.clock()):
                # A token due on arrival (a zero lifetime, a provider's clock far off): renewing
                # again at once would loop, so it waits like a failure.
                self._back_off(name)
            else:
                self._failures.pop(name, None)
        finally:
            self._tasks.pop(name, None)
            self._wake.set()

    def _say(self, name: str, line: str) -> None:
        """Log a background failure once: again only when it changes (or after a success)."""
        if self._logged.get(name) == line:
            return
        self._logged[name] = line
        self._log(f"background renewal of {name}: {line}" if name else f"background renewal: {line}")

    def _back_off(self, name: str) -> None:
        failure = self._failures.get(name)
        count = failure.count + 1 if failure else 1
        backoff = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (count - 1))
        self._failures[name] = _Failure(count, self.clock() + backoff)


def _problem(exc: BaseException) -> TrayauthError:
    if isinstance(exc, TrayauthError):
        return exc
    if isinstance(exc, OSError):
        return storage_error(exc, "cannot save")
    return TrayauthError(f"internal error ({exc.__class__.__name__})")


def _log_stderr(line: str) -> None:
    print(f"trayauth: {line}", file=sys.stderr, flush=True)


async def _wait_event(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
