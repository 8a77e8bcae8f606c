"""The worker side of :mod:`trayauth.services.flow_process`: calls to providers, then exit.

``trayauth --flow-worker`` reads calls on stdin, one JSON object per line with an ``id``, runs
each as a task of its own (so calls that arrive together overlap, as they did in the tray),
and writes each answer as one line with the same ``id``. Errors are answers too, so the tray
sees the same error class, message and next step as if the call had run in its own process.
The calls share one HTTP client (its connections and the issuers' metadata are reused). At the
end of its input the worker finishes what it has and exits. It reads no config, no vault and no
key: what a call needs comes with it.
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
from trayauth.process import forbid_core_dumps
from trayauth.services.flow_process import encode_error
from trayauth.storage.trust import check_private


def worker_main() -> int:
    """``trayauth --flow-worker``: answer calls on stdin until it closes."""
    forbid_core_dumps()  # it holds refresh tokens and kept secrets (the frozen app's too)
    asyncio.run(_serve())
    return 0


async def _serve() -> None:
    shared = HttpPolicy()
    running: set[asyncio.Task[None]] = set()
    try:
        while line := await asyncio.to_thread(sys.stdin.buffer.readline):
            task = asyncio.get_running_loop().create_task(_answer(line, shared))
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            await asyncio.gather(*running)
    finally:
        await shared.aclose()


async def _answer(line: bytes, shared: HttpPolicy) -> None:
    ident: object = None
    try:
        request = json.loads(line)
        ident = request.get("id")
        answer = await _work(request, shared)
    except TrayauthError as exc:
        answer = {"error": encode_error(exc)}
    except Exception as exc:  # the tray shows one line, never a traceback
        failed = TrayauthError(f"internal error in the worker ({type(exc).__name__})")
        answer = {"error": encode_error(failed)}
    sys.stdout.buffer.write(json.dumps({"id": ident, **answer}).encode() + b"\n")
    sys.stdout.buffer.flush()


async def _work(request: Mapping[str, Any], shared: HttpPolicy) -> dict[str, Any]:
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
    # The shared client, with this call's clock and attempts (a logout's revocation tries once).
    http = HttpPolicy(shared.client, clock=clock, max_attempts=int(request.get("attempts") or 4))
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
    if op == "login":
        return {"tokens": (await flow.login(ctx)).to_dict()}
    if op == "refresh" and tokens is not None:
        return {"tokens": (await flow.refresh(ctx, tokens)).to_dict()}
    if op == "revoke":
        result = await flow.revoke(ctx, tokens)
        return {"revocation": {"outcome": result.outcome.value, "detail": result.detail}}
    raise TrayauthError(f"the worker cannot do {op!r}")
