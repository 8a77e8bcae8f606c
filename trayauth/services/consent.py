"""The consent gate: before the agent hands out an "ask first" account's token, the user decides.

The agent calls :meth:`ConsentGate.check` with the account and the :class:`Requester` (from the
socket's peer credentials). Accounts that do not ask pass at once; a program the user allowed
"always" passes; anything else becomes a :class:`ConsentQuestion` handed to ``asker`` (the tray's
dialog), awaited until its deadline. Silence and Deny are refusals. Every outcome goes to the
hand-out log (:meth:`record`), which the Activity view reads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from trayauth.domain.consent import ConsentDenied, ConsentQuestion, Decision, Requester
from trayauth.domain.steps import NextStep, StepKind
from trayauth.domain.text import span
from trayauth.storage.consent import ConsentStore

ASK_TIMEOUT = 60.0  # below the CLI's own wait for the agent (client.TOKEN_TIMEOUT)


class ConsentGate:
    def __init__(
        self,
        store: ConsentStore,
        *,
        asker: Callable[[ConsentQuestion], None] | None = None,
        timeout: float = ASK_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.asker = asker  # set by the tray once its UI is up; None: nobody to ask, so refuse
        self.timeout = timeout
        self.clock = clock
        self._pending: dict[tuple[str, str], asyncio.Future[Decision]] = {}

    async def check(self, account: str, requester: Requester) -> str:
        """Return how the hand-out was allowed ("" when the account does not ask); raise
        ConsentDenied (after logging it) when it is not."""
        settled = self.settled(account, requester)
        if settled is not None:
            return settled
        decision = await self._ask(account, requester)
        if decision is Decision.DENY:
            self.record(account, requester, "denied", "asked")
            raise ConsentDenied(
                f"you denied {_who(requester)} this token in the tray",
                account=account,
                next_step=NextStep.of(StepKind.ALLOW_IN_TRAY, account=account),
            )
        if decision is Decision.ALWAYS:
            self.store.remember(account, requester.program, requester.describe())
            return "always"
        return "asked"

    def settled(self, account: str, requester: Requester) -> str | None:
        """How a hand-out is allowed without a question: "" (the account does not ask) or "always"
        (the user allowed this program for good); None when the user must be asked. Reads only
        the consent file, so the agent's socket thread may call it."""
        if not self.store.asks(account):
            return ""
        if self.store.allowed(account, requester.program):
            return "always"
        return None

    async def _ask(self, account: str, requester: Requester) -> Decision:
        asker = self.asker
        if asker is None:
            self.record(account, requester, "denied", "nobody to ask")
            raise ConsentDenied(
                f"{account} asks before handing out its token, and this tray has no window to ask in",
                account=account,
                named=True,
                next_step=NextStep.of(StepKind.CONSENT_NEEDS_DESKTOP, account=account),
            )
        # One dialog for a program's burst of requests (a script calling `trayauth token` in a
        # loop): they wait on the same answer.
        key = (account, requester.program or f"pid:{requester.pid}")
        future = self._pending.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            self._pending[key] = future

            def answer(decision: Decision, fut: asyncio.Future[Decision] = future) -> None:
                if not fut.done():
                    fut.set_result(decision)

            question = ConsentQuestion(account, requester, self.clock() + self.timeout, answer)

            def settled(_f: asyncio.Future[Decision], q: ConsentQuestion = question) -> None:
                self._pending.pop(key, None)
                q.finish()  # the dialog closes: whoever answered, or the deadline passed

            future.add_done_callback(settled)
            asker(question)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except TimeoutError:
            if not future.done():
                future.set_result(Decision.DENY)
            self.record(account, requester, "timed_out", "asked")
            raise ConsentDenied(
                f"nobody answered the tray's question in {span(self.timeout)}",
                account=account,
                next_step=NextStep.of(StepKind.ANSWER_IN_TRAY, account=account),
            ) from None

    def record(self, account: str, requester: Requester, outcome: str, how: str = "") -> None:
        self.store.record(account, requester.describe(), outcome, how)


def _who(requester: Requester) -> str:
    if requester.via_ssh:
        return "a forwarded SSH session"
    return requester.exe.rsplit("/", 1)[-1] if requester.exe else "this program"
