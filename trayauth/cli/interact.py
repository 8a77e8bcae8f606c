"""How the CLI asks: hidden prompts for secrets, stderr for browser and device sign-in.

Secrets come from a hidden prompt or from stdin (``--secret-stdin``), never from argv, so they
stay out of shell history and ``ps``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Iterable

from trayauth.domain.errors import TrayauthError, UsageError
from trayauth.domain.presets import Field, Preset
from trayauth.domain.prompts import BrowserSignIn, DeviceCode, Question


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
    result: dict[str, str] = {}
    for field in fields:
        value = read_hidden(f"{field.label} for {account}: ")
        if not value and field.required:
            raise UsageError(f"{account}: {field.label.lower()} is required")
        if value:
            result[field.key] = value
    return result


_ERASE = (0x7F, 0x08)  # DEL and BS: what the backspace key sends
_KILL = 0x15  # Ctrl-U: start the line over


def read_hidden(prompt: str) -> str:
    """A line typed or pasted on the terminal (stdin), not echoed.

    Not getpass: it reads in the terminal's canonical mode, where the kernel caps a line (4095
    bytes on Linux, 1024 on macOS) and silently drops the rest, so a pasted 16 KB JWT would be
    stored cut short. Here canonical mode is off too (echo off, signals on: Ctrl-C still works)
    and the line is assembled byte by byte, of any length.
    """
    import getpass

    try:
        import termios
    except ImportError:  # Windows: getpass reads key by key, without a line limit
        return getpass.getpass(prompt, stream=sys.stderr)
    fd = sys.stdin.fileno()
    try:
        old = termios.tcgetattr(fd)
    except termios.error:
        return getpass.getpass(prompt, stream=sys.stderr)
    new = termios.tcgetattr(fd)
    new[3] &= ~(termios.ECHO | termios.ICANON)
    new[6][termios.VMIN], new[6][termios.VTIME] = 1, 0
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = bytearray()
    try:
        termios.tcsetattr(fd, termios.TCSAFLUSH, new)
        done = False
        while not done:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            for byte in chunk:
                if byte in (0x0A, 0x0D, 0x04):  # Enter, or Ctrl-D (end of input)
                    done = True
                    break
                if byte in _ERASE:
                    while line and line[-1] & 0xC0 == 0x80:  # a UTF-8 continuation byte
                        line.pop()
                    if line:
                        line.pop()
                elif byte == _KILL:
                    line.clear()
                else:
                    line.append(byte)
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, old)
        sys.stderr.write("\n")
        sys.stderr.flush()
    return line.decode("utf-8", "replace")


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
