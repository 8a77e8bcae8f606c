"""A flow's calls to providers in a worker process, so that a tray never loads them.

Why: the tray runs all day, and what its first renewal imports stays resident. The HTTP stack
(httpx, httpcore, h11, anyio), the TLS context with its CA bundle and the flow modules came to
13 MiB on a tray of 77 MiB (``tests/benchmarks/bench_tray.py``), the largest part of what the
tray held beyond a bare Qt tray.

Only the call to the provider moves. Everything that decides stays in the tray's
:class:`~trayauth.services.renewal.RenewalService`: the locks, the rotation mark, the vault writes,
the account's state and its events. So those rules still live in one place, and a worker that dies
part-way is judged by them like any other interrupted request.

One worker (``trayauth --flow-worker``, :mod:`trayauth.services.flow_worker`) serves the calls that
come while it runs, side by side, and exits ``IDLE`` seconds after its last: a laptop that wakes
with twenty tokens due starts one Python, a script that meets a due token waits no longer than
before, and a tray at rest holds no worker. Each call goes down its stdin as one JSON line with
an id: what a flow gets (the account, where its preset is read from, the secrets and the tokens,
the tray's clock reading, how many attempts a request may take), never in argv. Each answer comes
back on its stdout with the same id: the new tokens, the revocation result, or the error (its
class by name, the message, the next step, and whether the request was sent and accepted, which
is how renewal judges a rotating refresh token). A call left without an answer (the worker died)
may have been sent and accepted: a rotating refresh token is then treated as spent.

Interactive sign-ins (an asker or a browser) stay in the tray's process, where the dialogs are.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trayauth.domain import errors
from trayauth.domain.errors import NetworkError, TrayauthError
from trayauth.domain.model import TokenSet
from trayauth.domain.steps import NextStep
from trayauth.flows import Flow, load_flow
from trayauth.protocol.revocation import Revocation, RevocationResult

if TYPE_CHECKING:
    from collections.abc import Mapping

    from trayauth.domain.presets import PresetCatalog
    from trayauth.flows.base import FlowContext

WORKER_ARG = "--flow-worker"  # `trayauth --flow-worker` is the worker (trayauth.services.flow_worker)
LIMIT = 300.0  # seconds one call may take: the HTTP deadlines inside it are far shorter
IDLE = 30.0  # seconds a worker with nothing to do waits for more before it goes


def worker_command() -> list[str]:
    """This interpreter running trayauth as the worker (or the frozen app, which is trayauth).
    ``-P``: the tray's working folder is not on the worker's path, so a folder that happens to
    hold a ``trayauth`` package is never run in its place."""
    if getattr(sys, "frozen", False):
        return [sys.executable, WORKER_ARG]
    return [sys.executable, "-P", "-m", "trayauth", WORKER_ARG]


def worker_env() -> dict[str, str]:
    """The tray's environment, with the folder this trayauth was imported from first on the
    path: the worker runs the same code as the tray, installed or from a checkout."""
    env = dict(os.environ)
    root = Path(__file__).resolve().parents[2]
    if root.name not in ("site-packages", "dist-packages"):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    return env


class ProcessFlows:
    """The tray's flow loader: flows whose background calls run in a worker process.

    One worker serves every call while there are calls, each as a task of its own (a laptop
    that wakes with twenty tokens due starts one Python, not twenty), and is let go ``idle``
    seconds after its last answer: at rest the tray holds no worker at all.
    """

    def __init__(self, presets: PresetCatalog, *, limit: float = LIMIT, idle: float = IDLE) -> None:
        self.presets = presets
        self.limit = limit
        self.idle = idle
        self.started = 0  # workers started so far (the tests and the benchmark count them)
        self.calls = 0  # calls sent to a worker so far
        self._worker: _Worker | None = None
        self._leaving: set[_Worker] = set()
        self._ids = itertools.count(1)
        self._starting: asyncio.Lock | None = None

    def __call__(self, name: str) -> Flow:
        load_flow(name)  # an unknown flow fails here, as with the in-process loader
        return ProcessFlow(name, self)

    async def run(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The worker's answer; None where this event loop cannot start processes."""
        ident = next(self._ids)
        for _ in range(2):
            worker = await self._current()
            if worker is None:
                return None
            answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            worker.pending[ident] = answer
            worker.stay()
            if await worker.send({"id": ident, **request}):
                self.calls += 1
                break
            # It was gone before the call reached it (nothing was sent): once more, afresh.
            worker.pending.pop(ident, None)
            await self._let_go(worker, kill=True)
        else:
            raise TrayauthError("the worker process ends as soon as it starts; nothing was sent")
        try:
            try:
                got = await asyncio.wait_for(answer, self.limit)
            except TimeoutError:
                await self._let_go(worker, kill=True)  # stuck: whatever else it runs goes too
                raise _no_answer(f"no answer within {self.limit:g} s") from None
        finally:
            worker.pending.pop(ident, None)
            if not worker.pending and worker is self._worker:
                worker.leave_after(self.idle, lambda: self._retire(worker))
        return decode_answer(got)

    async def _current(self) -> _Worker | None:
        if self._worker is not None and self._worker.alive:
            return self._worker
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:  # calls that arrive together share the one start
            if self._worker is not None and self._worker.alive:
                return self._worker
            if self._worker is not None:
                # It takes no more calls (its input is shut): those it has may still be answered.
                old, self._worker = self._worker, None
                if old.pending:
                    self._leaving.add(old)
                    old.reader.add_done_callback(lambda _task: self._leaving.discard(old))
                else:
                    await old.stop(kill=True)
            try:
                proc = await asyncio.create_subprocess_exec(
                    *worker_command(),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=None if os.environ.get("TRAYAUTH_DEBUG") else asyncio.subprocess.DEVNULL,
                    env=worker_env(),
                )
            except NotImplementedError:
                return None
            except OSError as exc:
                raise TrayauthError(f"could not start a worker process ({exc.strerror or exc})") from None
            self.started += 1
            self._worker = _Worker(proc)
            return self._worker

    def _retire(self, worker: _Worker) -> None:
        """Idle: close its input; it finishes what it has and exits (reaped by its reader)."""
        if worker is self._worker and not worker.pending:
            self._worker = None
            self._leaving.add(worker)
            worker.reader.add_done_callback(lambda _task: self._leaving.discard(worker))
            worker.close_input()

    async def _let_go(self, worker: _Worker, *, kill: bool) -> None:
        if worker is self._worker:
            self._worker = None
        await worker.stop(kill=kill)

    async def aclose(self) -> None:
        """The tray is quitting: no worker outlives it."""
        for worker in [w for w in (self._worker, *self._leaving) if w is not None]:
            await self._let_go(worker, kill=True)
        self._leaving.clear()


class _Worker:
    """One worker process and the calls it is answering, matched by id."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._idle: asyncio.TimerHandle | None = None
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @property
    def alive(self) -> bool:
        stdin = self.proc.stdin
        return (
            self.proc.returncode is None
            and not self.reader.done()
            and stdin is not None
            and not stdin.is_closing()
        )

    async def send(self, message: dict[str, Any]) -> bool:
        """Write one call; False when the worker is gone (nothing reached it)."""
        stdin = self.proc.stdin
        if stdin is None or stdin.is_closing():
            return False
        try:
            stdin.write(json.dumps(message).encode() + b"\n")
            await stdin.drain()
        except (ConnectionError, OSError):
            return False
        return True

    async def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            while line := await stdout.readline():
                try:
                    answer = json.loads(line)
                    future = self.pending.get(int(answer.pop("id")))
                except (ValueError, TypeError, KeyError, AttributeError):
                    continue  # not an answer to anything asked
                if future is not None and not future.done():
                    future.set_result(answer)
        except (ValueError, ConnectionError, OSError):
            pass  # a line past the stream's limit, or the pipe gone: this worker is done
        finally:
            with contextlib.suppress(ProcessLookupError):
                if self.proc.returncode is None and self.pending:
                    self.proc.kill()  # it stopped answering calls still open
            status = await self.proc.wait()
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(_no_answer(f"its worker process exited with status {status}"))

    def stay(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def leave_after(self, seconds: float, retire: Callable[[], None]) -> None:
        self.stay()
        self._idle = asyncio.get_running_loop().call_later(seconds, retire)

    def close_input(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()

    async def stop(self, *, kill: bool) -> None:
        self.stay()
        if kill and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        self.close_input()
        await asyncio.shield(self.reader)


@dataclass(frozen=True)
class ProcessFlow(Flow):
    """A :class:`~trayauth.flows.Flow` whose calls without the user run in a worker process;
    where the event loop cannot start processes, they run here, as any flow's do."""

    runner: ProcessFlows

    async def login(self, ctx: FlowContext) -> TokenSet:
        if ctx.asker is not None or ctx.open_browser is not None:
            return await super().login(ctx)  # it asks the user: the dialogs are here
        answer = await self.runner.run(encode_request("login", self.name, ctx, None, self.runner.presets))
        return await super().login(ctx) if answer is None else _tokens(answer)

    async def refresh(self, ctx: FlowContext, tokens: TokenSet) -> TokenSet:
        answer = await self.runner.run(encode_request("refresh", self.name, ctx, tokens, self.runner.presets))
        return await super().refresh(ctx, tokens) if answer is None else _tokens(answer)

    async def revoke(self, ctx: FlowContext, tokens: TokenSet | None) -> RevocationResult:
        answer = await self.runner.run(encode_request("revoke", self.name, ctx, tokens, self.runner.presets))
        if answer is None:
            return await super().revoke(ctx, tokens)
        try:
            result = answer["revocation"]
            return RevocationResult(Revocation(result["outcome"]), str(result.get("detail", "")))
        except (KeyError, TypeError, ValueError):
            raise _no_answer("the worker's answer had no revocation result") from None


# ---- the wire: a call out, an answer back -------------------------------------------------------


def encode_request(
    op: str, flow: str, ctx: FlowContext, tokens: TokenSet | None, presets: PresetCatalog
) -> dict[str, Any]:
    return {
        "op": op,
        "flow": flow,
        "account": {
            "name": ctx.account.name,
            "preset": ctx.account.preset,
            "settings": dict(ctx.account.settings),
        },
        "presets": {
            "user_dir": None if presets.user_dir is None else str(presets.user_dir),
            "builtin": str(presets.builtin),
        },
        "secrets": dict(ctx.secrets),
        "tokens": None if tokens is None else tokens.to_dict(),
        "now": ctx.clock(),
        "attempts": ctx.http.max_attempts,
    }


def encode_error(exc: TrayauthError) -> dict[str, Any]:
    step = exc.next_step
    return {
        "type": type(exc).__name__,
        "detail": exc.detail,
        "account": exc.account,
        "named": exc.named,
        "next_step": None if step is None else step.to_dict(),
        "accepted": exc.accepted,
        "sent": getattr(exc, "sent", True),
    }


def decode_error(data: Mapping[str, Any]) -> TrayauthError:
    """The worker's error as the same class with the same facts; a class this side does not know
    (a newer worker cannot happen, but a stray name can) becomes a plain TrayauthError."""
    cls = getattr(errors, str(data.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, TrayauthError)):
        cls = TrayauthError
    exc = cls.__new__(cls)
    account = data.get("account")
    TrayauthError.__init__(
        exc,
        str(data.get("detail") or "the worker process failed"),
        next_step=NextStep.from_dict(data.get("next_step")),
        account=account if isinstance(account, str) else None,
        named=bool(data.get("named")),
    )
    exc.accepted = bool(data.get("accepted"))
    if isinstance(exc, NetworkError):
        exc.sent = bool(data.get("sent", True))
    if isinstance(exc, errors.BadArgument):
        exc.usage, exc.choices = None, ()
    return exc


def _no_answer(why: str) -> TrayauthError:
    """A worker that gave no answer may have sent its request and had it accepted."""
    exc = TrayauthError(f"the request to the provider ended without an answer ({why})")
    exc.accepted = True
    return exc


def decode_answer(answer: Mapping[str, Any]) -> dict[str, Any]:
    """The worker's answer to one call: the error it carries, raised, or the result."""
    if "error" in answer:
        raise decode_error(answer["error"])
    if not answer:
        raise _no_answer("the worker's answer was empty")
    return dict(answer)


def _tokens(answer: Mapping[str, Any]) -> TokenSet:
    try:
        return TokenSet.from_dict(answer["tokens"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise _no_answer("the worker's answer had no tokens") from None
