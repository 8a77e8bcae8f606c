"""Eight `trayauth token` processes at once on a due rotating token: one refresh, one new token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.cli import expire_now, sentiance_account, spawn_cli


def test_eight_processes_refresh_once(isolated: Path, fresh_provider: Any) -> None:
    srv = fresh_provider
    sentiance_account(srv, "work")
    old = expire_now("work")
    refreshes = srv.refreshes("sentiance")

    procs = [spawn_cli("token", "work") for _ in range(8)]
    results = [p.communicate(timeout=60) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0] * 8, [err for _, err in results]
    tokens = {out.strip() for out, _ in results}
    assert len(tokens) == 1
    new = tokens.pop()
    assert new != old
    assert srv.check("sentiance", new)
    assert srv.refreshes("sentiance") == refreshes + 1
    assert srv.revoked_families("sentiance") == 0, "a spent refresh token was sent again"
