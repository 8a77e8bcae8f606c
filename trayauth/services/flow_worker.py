"""The worker side of :mod:`trayauth.services.flow_process`: one call to a provider, then exit.

``trayauth --flow-worker`` reads one request (JSON) on stdin, runs the flow's call as the tray
would have, and writes one answer (JSON) on stdout. Errors are answers too, so the tray sees
the same error class, message and next step as if the call had run in its own process. The
worker reads no config, no vault and no key: what it needs comes with the request.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trayauth.domain.errors import TrayauthError
from trayauth.domain.model import Account, TokenSet
from trayauth.domain.presets import PresetCatalog
from trayauth.flows import load_flow
from trayauth.flows.base import FlowContext
from trayauth.net.http import HttpPolicy
from trayauth.services.flow_process import encode_error
from trayauth.storage.trust import check_private


def worker_main() -> int:
    """``trayauth --flow-worker``: read one request on stdin, answer on stdout, exit."""
    try:
        request = json.loads(sys.stdin.buffer.read())
        answer = asyncio.run(_work(request))
    except TrayauthError as exc:
        answer = {"error": encode_error(exc)}
    except Exception as exc:  # the tray shows one line, never a traceback
        failed = TrayauthError(f"internal error in the worker ({type(exc).__name__})")
        answer = {"error": encode_error(failed)}
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()
    return 0


async def _work(request: Mapping[str, Any]) -> dict[str, Any]:
    offset = float(request["now"]) - time.time()

    def clock() -> float:
        return time.time() + offset  # the tray's clock, so expiries agree with what it shows

    where = request["presets"]
    catalog = PresetCatalog(
        Path(where["user_dir"]) if where.get("user_dir") else None,
        Path(where["builtin"]),
        vet=check_private,
    )
    acct = request["account"]
    account = Account(str(acct["name"]), str(acct["preset"]), dict(acct.get("settings") or {}))
    http = HttpPolicy(clock=clock, max_attempts=int(request.get("attempts") or 4))
    ctx = FlowContext(
        account=account,
        preset=catalog.get(account.preset),
        secrets=dict(request.get("secrets") or {}),
        http=http,
        clock=clock,
    )
    flow = load_flow(str(request["flow"]))
    tokens = TokenSet.from_dict(request["tokens"]) if request.get("tokens") else None
    op = request["op"]
    try:
        if op == "login":
            return {"tokens": (await flow.login(ctx)).to_dict()}
        if op == "refresh" and tokens is not None:
            return {"tokens": (await flow.refresh(ctx, tokens)).to_dict()}
        if op == "revoke":
            result = await flow.revoke(ctx, tokens)
            return {"revocation": {"outcome": result.outcome.value, "detail": result.detail}}
        raise TrayauthError(f"the worker cannot do {op!r}")
    finally:
        await http.aclose()
