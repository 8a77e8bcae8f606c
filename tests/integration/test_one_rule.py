"""One rule, one place: `trayauth list` and the tray's presenter agree on each account's state.

The CLI reads the state the accounts service computed; the tray keeps snapshots and asks
``present.state_now`` as time passes. Both must come from ``domain.tokens``: the same tokens
(valid, inside the expiring window, expired, failing, logged out) read the same on both sides.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

from tests.support.cli import add_account, login, ok, run_cli
from trayauth.domain.model import State
from trayauth.services.broker import Broker
from trayauth.storage.store import Store
from trayauth.ui.state.present import countdown, state_now, status_word
from trayauth.ui.state.quick import row

HOUR = 3600.0


def shape(name: str, *, left: float, lifetime: float = HOUR, error: str | None = None) -> None:
    """Give ``name``'s stored token ``left`` seconds to live out of ``lifetime``."""
    now = time.time()
    Store.open().vault.update(
        name,
        lambda e: replace(
            e,
            tokens=replace(e.tokens, expires_at=now + left, obtained_at=now + left - lifetime),
            last_error=error,
        ),
    )


def test_cli_list_and_the_tray_say_the_same_state(isolated: Path) -> None:
    for name in ("fresh", "soon", "gone", "failing", "idle"):
        add_account(name, "bearer")
    for name in ("fresh", "soon", "gone", "failing"):
        ok(login(name, f"token-of-{name}"))
    shape("fresh", left=HOUR / 2)
    shape("soon", left=200)  # inside the 5-minute "expiring" window of an hour-long token
    shape("gone", left=-100)
    shape("failing", left=HOUR / 2, error="the provider answered HTTP 503")

    listed = {a["name"]: a["state"] for a in json.loads(ok(run_cli("list", "--json")).out)}
    broker = Broker.open(isolated)
    now = time.time()
    tray = {v.name: state_now(v, now).value for v in broker.accounts()}
    assert (
        listed
        == tray
        == {
            "fresh": "valid",
            "soon": "expiring",
            "gone": "expired",
            "failing": "error",
            "idle": "logged_out",
        }
    )
    soon = broker.view("soon")
    assert soon.state is State.EXPIRING and status_word(soon, now, lead=0.0) == "expiring"


def test_cli_list_and_the_tray_write_the_same_time_left(isolated: Path) -> None:
    """One countdown (domain.text.remaining): the CLI's EXPIRES column, the tray's rows, quick
    access and the no-tray window (present.countdown) write a duration the same way (they used
    to write "3h03m" and "3h 03m", "3d" and "3 days"). Half a minute past each whole minute keeps
    the figures still while both sides look."""
    lives = {"hours": 3 * HOUR + 3 * 60 + 30, "days": 3 * 86400 + 30}
    for name in lives:
        add_account(name, "bearer")
        ok(login(name, f"token-of-{name}"))
    for name, left in lives.items():
        shape(name, left=left, lifetime=left + HOUR)
    rows = ok(run_cli("list")).out.splitlines()[1:]
    cli = {line.split()[0]: line.split()[-1] for line in rows}
    broker = Broker.open(isolated)
    now = time.time()
    tray = {v.name: countdown(v, now) for v in broker.accounts()}
    quick = {v.name: row(v, now, 300.0, set(), None).left for v in broker.accounts()}
    assert cli == {"hours": "3h03m", "days": "3d"}
    assert tray == quick == {name: f"expires in {left}" for name, left in cli.items()}
