"""What the tray imports at start stays resident for as long as it runs (all day), so what it only
needs on demand loads on demand: the HTTP stack with the first request, quick access with its first
opening, the About and Activity windows when opened, and none of the CLI's command modules.

A real tray process (``trayauth`` with no command, offscreen Qt) on a logged-in account whose
token needs no network; a thread of its own waits until the tray answers on its socket, notes
what is loaded, asks the tray to open quick access (``trayauth pick``), notes again, then ends
the tray as the desktop would (SIGTERM).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.support.cli import add_account, expire_now, login, ok
from tests.support.probe import report, run_probe
from trayauth.demo import ProviderServer

ON_DEMAND = (
    "httpx",
    "trayauth.cli.run",
    "trayauth.cli.handoff",
    "trayauth.integrations.source",
    "trayauth.ui.widgets.quick_access",
    "trayauth.ui.widgets.about",
    "trayauth.ui.widgets.activity",
    "trayauth.ui.widgets.dialogs.login",
    "PySide6.QtSvg",  # never: the icons are PNGs rendered ahead of time (tests/gui/test_icons.py)
)

# A real tray in this interpreter (``trayauth`` with no command), and a thread beside it that
# waits until it answers, then runs the probe's ``look(runtime, deadline)``, prints what it saw and
# ends the tray as the desktop would (SIGTERM).
TRAY_WITH_A_WATCHER = """
import json, os, signal, sys, threading, time
from trayauth.client import tray_running
from trayauth.storage.paths import runtime_path

WATCH = json.loads(sys.argv[1])
seen = {}

def loaded():
    return sorted(m for m in WATCH if m in sys.modules)

def watch():
    runtime = runtime_path()
    deadline = time.monotonic() + 120  # a generous limit on a loaded machine, not a measure
    while tray_running(runtime) != os.getpid() and time.monotonic() < deadline:
        time.sleep(0.05)
    look(runtime, deadline)
    print(json.dumps(seen), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=watch, daemon=True).start()
from trayauth.cli import main
sys.exit(main([]))
"""

PROBE = (
    """
from trayauth.client import request_pick

def look(runtime, deadline):
    seen["ready"] = loaded()
    request_pick(runtime)
    while "trayauth.ui.widgets.quick_access" not in sys.modules and time.monotonic() < deadline:
        time.sleep(0.05)
    seen["picked"] = loaded()
"""
    + TRAY_WITH_A_WATCHER
)


def test_the_tray_starts_without_what_it_loads_on_demand(isolated: Path) -> None:
    add_account("work", "bearer")
    ok(login("work", "a-pasted-token-value"))
    proc = run_probe(PROBE, json.dumps(ON_DEMAND), env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    seen = report(proc.stdout)
    assert seen["ready"] == []
    # The probe sees a module when it does load: quick access, once `pick` opened it.
    assert seen["picked"] == ["trayauth.ui.widgets.quick_access"]


RENEWAL_PROBE = (
    """
import sys, time
from trayauth.storage.store import Store

OLD = sys.argv[2]

def look(runtime, deadline):
    store = Store.open()
    while time.monotonic() < deadline:
        tokens = store.vault.entry("steps").tokens
        if tokens is not None and tokens.access_token != OLD:
            break
        time.sleep(0.05)
    seen["renewed"] = tokens is not None and tokens.access_token != OLD
    seen["loaded"] = loaded()
"""
    + TRAY_WITH_A_WATCHER
)

NETWORK = ("httpx", "h11", "certifi", "trayauth.flows.steps", "trayauth.services.flow_worker")


def test_the_tray_renews_in_a_worker_and_never_loads_the_http_stack(isolated: Path) -> None:
    """A real tray whose account is due at start renews it (the provider sees the refresh and the
    vault holds the new token) without loading what the renewal needed: a worker process did it."""
    with ProviderServer() as srv:
        user = srv.users["sentiance"]
        add_account("steps", "sentiance", base_url=srv.base_url("sentiance"), username=user["username"])
        ok(login("steps", user["password"]))
        old = expire_now("steps")
        refreshes = srv.refreshes("sentiance")
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        seen = report(run_probe(RENEWAL_PROBE, json.dumps(NETWORK), old, env=env).stdout)
        assert seen["renewed"] is True
        assert srv.refreshes("sentiance") > refreshes
        assert seen["loaded"] == []
