"""Sleep and clock jumps: after a suspend, what fell due is renewed at once; no timer is trusted.

A laptop that sleeps stops its monotonic clock: every timer the tray armed (asyncio's, Qt's) resumes
where it stopped, while the wall clock, the tokens' expiry and the provider's clock moved on by
hours. The scheduler therefore never arms a timer longer than ``max_sleep`` and re-reads the wall
clock every time one fires (or at once when poked); these tests hold it to that, against the real
provider server and the real broker, with several presets and lifetimes at once.

Time is the test's: the wall clock is the hand ``FakeClock`` the broker and the provider server share,
and the scheduler's timers run on ``AwakeTime``, a stand-in monotonic clock that only moves while
the machine is awake. A suspend is the wall clock jumping while ``AwakeTime`` stands still; awake
time moves both. Renewals are real HTTP to the provider server (its own thread), so the test waits
for the event loop to go idle (the scheduler parked in a timer, no renewal running) after each step.

Unlike ``tests/integration/test_broker.py::test_scheduler_renews_at_the_margin_and_after_a_clock_jump``
(one ``tick()`` called by hand after the jump), these run the scheduler's own loop through the
suspend, and also cover: accounts not yet due, a pasted token that expired during the suspend, a
resume signal (``poke``), the wall clock going back, and a clock corrected after running ahead.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio

from tests.hardening.cases import FLOWS, OAUTH_FLOWS, Figures, FlowSpec
from tests.support.clock import FakeClock
from trayauth.demo import ProviderServer
from trayauth.domain.events import AccountEvent
from trayauth.domain.model import Account, State
from trayauth.domain.presets import PresetCatalog
from trayauth.net.http import HttpPolicy
from trayauth.services.broker import Broker
from trayauth.services.scheduler import RenewalScheduler
from trayauth.storage.store import Store

HOUR = 3600.0
# The most awake seconds a due renewal may lag a resume: the longest timer the scheduler may arm.
LAG_BOUND = 60.0
IDLE_TIMEOUT = 20.0  # real seconds the event loop may take to go idle after one step
STEP = 1.0  # awake seconds per step while watching closely

_SUMMARY: dict[str, str] = {}


@pytest.fixture(autouse=True, scope="module")
def _qt_garbage_freed_here() -> None:
    """Free earlier tests' Qt garbage now, in the GUI thread, before this module starts threads
    (the provider server's, the broker's vault writers): left to the cyclic GC it may be freed in
    one of those, and Qt objects must die in their own thread (see tests/support/qt.py)."""
    gc.collect()


def record(figures: Figures, case: str, text: str) -> None:
    _SUMMARY[case] = text
    figures.counts["clock jumps"] = "; ".join(f"{k}: {v}" for k, v in sorted(_SUMMARY.items()))


def _spec(key: str) -> FlowSpec:
    return next(s for s in FLOWS + OAUTH_FLOWS if s.key == key)


async def _no_sleep(_seconds: float) -> None:
    pass


class AwakeTime:
    """The scheduler's timers: they count awake seconds only, as CLOCK_MONOTONIC does across a suspend.

    ``wait`` is the scheduler's injectable wait: it returns when the event is set or when this
    clock (not the wall clock) reaches the deadline.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self.deadline: float | None = None
        self.event: asyncio.Event | None = None

    async def wait(self, event: asyncio.Event, timeout: float) -> None:
        self.waits.append(timeout)
        self.event, self.deadline = event, self.now + timeout
        try:
            while not event.is_set() and self.now < self.deadline:
                await asyncio.sleep(0.001)
        finally:
            self.deadline = None

    @property
    def parked(self) -> bool:
        """The scheduler sits in a timer that nothing has woken."""
        return self.deadline is not None and self.event is not None and not self.event.is_set()


@dataclass
class World:
    """The broker, the provider, the scheduler running its loop, and what happened when."""

    srv: ProviderServer
    clock: FakeClock
    awake: AwakeTime
    broker: Broker
    scheduler: RenewalScheduler
    specs: dict[str, FlowSpec] = field(default_factory=dict)
    events: list[tuple[float, AccountEvent]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    # ---- accounts ---------------------------------------------------------------------------

    async def add(self, name: str, spec: FlowSpec) -> None:
        self.specs[name] = spec
        self.broker.add(Account(name, spec.preset, spec.settings(self.srv)))
        await self.broker.login(name, spec.secrets(self.srv))

    async def paste(self, name: str, exp: float) -> None:
        token = self.srv.mint_jwt({"sub": name, "exp": int(exp)})
        self.broker.add(Account(name, "bearer", {}))
        await self.broker.login(name, {"token": token})

    def token(self, name: str) -> str:
        tokens = self.broker.store.vault.entry(name).tokens
        assert tokens is not None
        return tokens.access_token

    def requests(self) -> dict[str, int]:
        """Renewal requests the server has seen, per account (each account has its own endpoint
        or its own vendor here, except where two share one; those are summed under both)."""
        return {
            name: self.srv.count(spec.vendor, spec.renew_endpoint)
            for name, spec in self.specs.items()
            if spec.renew_endpoint
        }

    def mark(self) -> int:
        """A place in the event log: ``kinds(..., since=mark)`` sees only what came after."""
        return len(self.events)

    def kinds(self, kind: str, since: int = 0) -> list[str]:
        return [e.account for _t, e in self.events[since:] if e.kind == kind]

    # ---- time -------------------------------------------------------------------------------

    async def idle(self) -> None:
        """Until the scheduler is parked in a timer with no renewal running (real time, bounded)."""
        limit = time.monotonic() + IDLE_TIMEOUT
        calm = 0
        while calm < 3:
            if time.monotonic() > limit:
                raise AssertionError("the scheduler did not settle: a busy loop or a stuck renewal")
            await asyncio.sleep(0.002)
            calm = calm + 1 if self.awake.parked and not self.scheduler.renewing else 0
            if self.task is not None and self.task.done():
                self.task.result()  # the loop died: show why

    async def live(
        self, seconds: float, step: float = STEP, until: Callable[[], bool] | None = None
    ) -> float:
        """Let awake time pass (both clocks move) in steps; stop early once ``until()`` holds.
        Returns the awake seconds that passed."""
        start = self.awake.now
        await self.idle()
        while self.awake.now - start < seconds and not (until and until()):
            dt = min(step, seconds - (self.awake.now - start))
            self.awake.now += dt
            self.clock.advance(dt)
            await self.idle()
        return self.awake.now - start

    def suspend(self, seconds: float) -> None:
        """The laptop sleeps: the wall clock (and the provider's) moves on, the timers do not."""
        self.clock.advance(seconds)

    async def start(self) -> None:
        self.broker.subscribe(lambda e: self.events.append((self.awake.now, e)))
        self.task = asyncio.ensure_future(self.scheduler.run())
        await self.idle()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def srv(clock: FakeClock) -> Iterator[ProviderServer]:
    with ProviderServer(clock) as server:
        yield server


@pytest_asyncio.fixture
async def world(keyfile_home: Path, srv: ProviderServer, clock: FakeClock) -> AsyncIterator[World]:
    awake = AwakeTime()
    broker = Broker(
        Store.open(keyfile_home),
        PresetCatalog(),
        http=HttpPolicy(sleep=_no_sleep, clock=clock),
        clock=clock,
    )
    scheduler = RenewalScheduler(broker, clock=clock, wait=awake.wait)
    w = World(srv, clock, awake, broker, scheduler)
    try:
        yield w
    finally:
        if w.task is not None:
            w.task.cancel()
            await asyncio.gather(w.task, return_exceptions=True)
        await broker.aclose()


# ---- a suspend of three hours ------------------------------------------------------------------


async def _population(w: World) -> tuple[set[str], set[str], float]:
    """Accounts of every renewable kind, some due after three hours and some not; two pasted tokens.

    Returns (due after the suspend, not due, the moment of login).
    """
    w.srv.set_lifetime("sentiance", 1 * HOUR)
    w.srv.set_lifetime("amino", 1 * HOUR)
    w.srv.set_lifetime("oauth", 2 * HOUR)
    w.srv.set_lifetime("sensos", 10 * HOUR)
    w.srv.set_lifetime("senseye", 24 * HOUR)
    t0 = w.clock()
    for name, key in [
        ("sentiance", "sentiance"),
        ("sentiance-2", "sentiance"),
        ("amino", "amino"),
        ("oauth-password", "oauth2-password"),
        ("oauth-client", "oauth2-client-credentials"),
        ("sensos", "sensos"),
        ("senseye", "senseye"),
        ("attentive", "attentive"),
    ]:
        await w.add(name, _spec(key))
    await w.paste("pasted-2h", t0 + 2 * HOUR)  # expires during the suspend
    await w.paste("pasted-5h", t0 + 5 * HOUR)  # does not
    due = {"sentiance", "sentiance-2", "amino", "oauth-password", "oauth-client"}
    return due, {"sensos", "senseye", "attentive"}, t0


@pytest.mark.asyncio
async def test_a_suspend_renews_what_fell_due_within_one_tick(world: World, figures: Figures) -> None:
    w = world
    due, not_due, _t0 = await _population(w)
    before = {name: w.token(name) for name in w.specs}
    logins = w.requests()
    await w.start()

    # Nothing is due for an hour, yet no timer is armed for longer than the bound.
    assert w.awake.waits and max(w.awake.waits) <= LAG_BOUND
    await w.live(20)
    assert not w.kinds("renewed") and not w.kinds("renewing")

    # The laptop sleeps for three hours while the scheduler waits on its timer.
    assert w.awake.deadline is not None
    pending = w.awake.deadline - w.awake.now
    w.suspend(3 * HOUR)
    await asyncio.sleep(0.05)
    assert not w.kinds("renewing"), "a timer fired during the suspend: the test does not simulate one"

    # It wakes: awake time runs again, and the timer it had armed fires within its remainder.
    woke, real = w.awake.now, time.monotonic()
    waited = await w.live(LAG_BOUND + 5, until=lambda: set(w.kinds("renewed")) >= due)
    real = time.monotonic() - real
    assert set(w.kinds("renewed")) == due, f"renewed {sorted(w.kinds('renewed'))}, due {sorted(due)}"
    assert waited <= pending + STEP, f"renewed {waited:.0f} s after waking; the timer had {pending:.0f} s"
    assert waited <= LAG_BOUND + STEP
    lags = [t - woke for t, e in w.events if e.kind == "renewed"]
    for name in due:
        assert w.token(name) != before[name]
        assert w.srv.check(w.specs[name].vendor, w.token(name)), f"{name}: the server refuses the new token"
        assert w.broker.view(name).state == State.VALID
    for name in not_due:
        assert w.token(name) == before[name], f"{name} was renewed though not due"
        assert w.broker.view(name).state == State.VALID
    requests = w.requests()
    assert all(requests[n] == logins[n] for n in not_due if n in requests), (logins, requests)

    # The pasted token that died during the suspend is announced once, as expired (no stale
    # "expiring" first); the one still valid is not announced at all.
    assert w.kinds("expired") == ["pasted-2h"] and w.kinds("expiring") == []
    assert w.broker.view("pasted-2h").state == State.EXPIRED

    # Then quiet: ten awake minutes, no renewal, no announcement, the loop wakes once a max_sleep.
    wakeups, after = w.scheduler.wakeups, w.mark()
    await w.live(600, step=5)
    assert w.requests() == requests, "requests after the catch-up: a refresh storm"
    assert not w.kinds("renewing", since=after) and not w.kinds("expired", since=after)
    assert w.scheduler.wakeups - wakeups <= 600 / LAG_BOUND + 3
    record(
        figures,
        "1 suspend 3 h",
        f"{len(due)} due of {len(w.broker.accounts())} accounts renewed {max(lags):.0f} s awake after wake "
        f"(timer had {pending:.0f} s left, {real:.1f} s real), {len(not_due)} not due untouched, "
        "pasted token expired in sleep announced once, then 10 min quiet",
    )


@pytest.mark.asyncio
async def test_a_resume_signal_renews_without_waiting_for_the_timer(world: World, figures: Figures) -> None:
    """``poke()`` (what a resume-from-suspend hook calls) re-reads the wall clock at once."""
    w = world
    w.srv.set_lifetime("senseye", 24 * HOUR)
    await w.add("sentiance", _spec("sentiance"))
    await w.add("senseye", _spec("senseye"))
    old = {name: w.token(name) for name in w.specs}
    await w.start()
    w.suspend(2 * HOUR)
    parked_at = w.awake.now
    w.scheduler.poke()
    await w.idle()
    assert w.awake.now == parked_at, "no awake time passed"
    assert w.kinds("renewed") == ["sentiance"]
    assert w.token("sentiance") != old["sentiance"] and w.token("senseye") == old["senseye"]
    record(figures, "2 poke on resume", "due account renewed with 0 s of awake time")


# ---- the wall clock going back ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_clock_going_back_causes_no_storm_and_renewals_stay_on_time(
    world: World, figures: Figures
) -> None:
    """The whole world's clock goes back two hours (a clock set back, a VM snapshot restored):
    tokens just look younger; nothing is renewed early or twice, and each is renewed when due."""
    w = world
    w.srv.set_lifetime("senseye", 24 * HOUR)
    t0 = w.clock()
    await w.add("sentiance", _spec("sentiance"))
    await w.add("senseye", _spec("senseye"))
    await w.paste("pasted", t0 + 30 * 60)
    await w.start()

    # Past the pasted token's expiry: announced once.
    await w.live(31 * 60, step=30)
    assert w.kinds("expired") == ["pasted"]

    # Back two hours.
    w.clock.advance(-2 * HOUR)
    requests, wakeups, back = w.requests(), w.scheduler.wakeups, w.mark()
    await w.live(600, step=5)
    assert w.requests() == requests, "the clock went back and the scheduler renewed: a refresh storm"
    assert not w.kinds("renewing", since=back)
    assert w.scheduler.wakeups - wakeups <= 600 / LAG_BOUND + 3, "the loop spun"
    assert all(0.05 <= d <= LAG_BOUND for d in w.awake.waits[-5:])

    # Forward to the sentiance token's renewal moment by the (now earlier) wall clock: renewed
    # once, on time; the pasted token is not announced a second time when its expiry comes round.
    renew_at = w.broker.view("sentiance").renew_at
    assert renew_at is not None and renew_at > w.clock()
    await w.live(renew_at - w.clock() + 120, step=30, until=lambda: bool(w.kinds("renewed")))
    assert w.kinds("renewed") == ["sentiance"]
    assert w.clock() - renew_at <= 30 + 1, "renewed late"
    assert w.kinds("expired") == ["pasted"], "announced again after the clock went back"
    assert w.requests()["senseye"] == requests["senseye"]
    record(figures, "3 clock back 2 h", "0 requests in 10 min, next renewal on time, no repeat announcement")


@pytest.mark.asyncio
async def test_a_clock_corrected_after_running_ahead(world: World, figures: Figures) -> None:
    """This computer's clock runs three hours ahead of the provider's, then NTP sets it right.

    Ahead, every renewal comes back already due: the scheduler backs off (no storm). Set right,
    the token renews when it really falls due, not three hours later: a backoff is a wait, and the
    clock going back must not stretch it by the jump.
    """
    w = world
    await w.add("sentiance", _spec("sentiance"))
    await w.start()
    base = w.requests()["sentiance"]

    w.clock.advance(3 * HOUR)  # this machine's clock jumps ahead; the provider's does not
    w.srv.clock_offset = -3 * HOUR
    w.scheduler.poke()
    await w.live(20 * 60, step=5)
    attempts = w.requests()["sentiance"] - base
    assert 2 <= attempts <= 10, f"{attempts} renewals in 20 min with a clock 3 h ahead"
    assert w.kinds("renew_failed"), "the broker did not say the new token arrived already due"

    w.clock.advance(-3 * HOUR)  # NTP sets it right
    w.srv.clock_offset = 0.0
    corrected = w.mark()
    view = w.broker.view("sentiance")
    assert view.expires_at is not None and view.expires_at > w.clock()
    renew_at = view.expires_at - 60
    before = w.requests()["sentiance"]
    await w.live(
        view.expires_at - w.clock() + 60,
        step=30,
        until=lambda: bool(w.kinds("renewed", since=corrected)),
    )
    assert w.kinds("renewed", since=corrected) == ["sentiance"], (
        "the token was not renewed when it fell due after the clock was set right"
    )
    assert w.clock() <= view.expires_at, "renewed only after it expired"
    assert w.clock() >= renew_at - 30
    assert w.requests()["sentiance"] - before == 1
    assert w.broker.view("sentiance").state == State.VALID
    record(
        figures,
        "4 clock 3 h ahead then corrected",
        f"{attempts} renewals in 20 min while ahead (backoff), renewed on time after the correction",
    )
