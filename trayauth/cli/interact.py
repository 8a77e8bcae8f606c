"""How the CLI asks: hidden prompts for secrets, stderr for browser and device sign-in.

Secrets come from a hidden prompt or from stdin (``--secret-stdin``), never from argv, so they
stay out of shell history and ``ps``.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterable

from trayauth.core.errors import TrayauthError, UsageError
from trayauth.core.presets import Field, Preset
from trayauth.core.prompts import BrowserSignIn, DeviceCode, Question


def secret_fields_to_ask(preset: Preset, extra: Iterable[str]) -> list[Field]:
    wanted = set(extra)
    unknown = wanted - {f.key for f in preset.secret_fields}
    if unknown:
        names = ", ".join(f.key for f in preset.secret_fields) or "none"
        raise UsageError(
            f"{preset.id} has no secret field {', '.join(sorted(unknown))}", hint=f"its secrets: {names}"
        )
    return [f for f in preset.secret_fields if f.required or f.key in wanted]


def read_secrets(fields: list[Field], *, from_stdin: bool, account: str) -> dict[str, str]:
    if not fields:
        return {}
    if from_stdin:
        lines = sys.stdin.read().splitlines()
        values = [line.strip() for line in lines if line.strip()]
        if len(values) < len(fields):
            names = ", ".join(f.key for f in fields)
            raise UsageError(
                f"{account}: expected {len(fields)} secret line(s) on stdin ({names}), got {len(values)}"
            )
        return {f.key: v for f, v in zip(fields, values, strict=False)}
    if not sys.stdin.isatty():
        raise UsageError(
            f"{account}: no terminal to ask for the {fields[0].label.lower()}",
            hint="pipe it in with --secret-stdin",
        )
    import getpass

    result: dict[str, str] = {}
    for field in fields:
        value = getpass.getpass(f"{field.label} for {account}: ", stream=sys.stderr)
        if not value and field.required:
            raise UsageError(f"{account}: {field.label.lower()} is required")
        if value:
            result[field.key] = value
    return result


def _left(deadline: float) -> str:
    seconds = max(0, int(deadline - time.time()))
    return f"{seconds // 60}:{seconds % 60:02d}"


class CliAsker:
    """Answers flow questions on a terminal: URL and codes on stderr, pasted redirect on stdin."""

    def __init__(self, *, allow_paste: bool) -> None:
        self.allow_paste = allow_paste and sys.stdin.isatty()
        self.questions: list[Question] = []

    def ask(self, question: Question) -> None:
        self.questions.append(question)
        if isinstance(question, BrowserSignIn):
            print(
                f"trayauth: sign in to {question.account} in your browser "
                f"(waiting {_left(question.deadline)}):",
                file=sys.stderr,
            )
            print(question.url, file=sys.stderr, flush=True)
            if self.allow_paste:
                print(
                    "If the browser cannot reach this machine, paste the URL it was redirected to here:",
                    file=sys.stderr,
                    flush=True,
                )
                self._read_pasted(question)
        elif isinstance(question, DeviceCode):
            target = question.verification_uri_complete or question.verification_uri
            print(
                f"trayauth: to sign in {question.account}, open {target} and enter the code "
                f"{question.user_code} (waiting {_left(question.deadline)})",
                file=sys.stderr,
                flush=True,
            )

    def _read_pasted(self, question: BrowserSignIn) -> None:
        loop = asyncio.get_running_loop()

        def submit(line: str) -> None:
            if question.finished:
                return
            try:
                question.submit_redirect(line)
            except TrayauthError as exc:
                print(f"trayauth: {exc.line()}", file=sys.stderr, flush=True)

        def reader() -> None:
            while not question.finished:
                line = sys.stdin.readline()
                if not line:
                    return
                if line.strip() and not question.finished:
                    loop.call_soon_threadsafe(submit, line.strip())

        threading.Thread(target=reader, name="paste-redirect", daemon=True).start()
