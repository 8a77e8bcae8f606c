"""How the CLI asks: hidden prompts for secrets, stderr for browser and device sign-in.

Secrets come from a hidden prompt or from stdin (``--secret-stdin``), never from argv, so they
stay out of shell history and ``ps``.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
import threading
import time
from collections.abc import Iterable, Sequence

from trayauth.cli import wording
from trayauth.domain.errors import TrayauthError, UsageError
from trayauth.domain.presets import Field, Preset
from trayauth.domain.prompts import BrowserSignIn, DeviceCode, Question
from trayauth.domain.text import remaining

if sys.platform != "win32":
    import termios


def secret_fields_to_ask(preset: Preset, extra: Iterable[str]) -> list[Field]:
    wanted = set(extra)
    unknown = wanted - {f.key for f in preset.secret_fields}
    if unknown:
        names = ", ".join(f.key for f in preset.secret_fields) or "none"
        raise UsageError(
            f"{preset.id} has no secret field {', '.join(sorted(unknown))}; its secrets: {names}"
        )
    return [f for f in preset.secret_fields if f.required or f.key in wanted]


def match_stdin_lines(
    lines: list[str], asked: Sequence[Field], every: Sequence[Field], *, account: str
) -> dict[str, str]:
    """Which secret each line of ``--secret-stdin`` is, decided before anything is sent.

    As many lines as the secrets that would be prompted for (the required ones, plus any named
    with --with-secret) fill those; as many as the preset has secret fields fill all of them in
    field order, optional ones included (an empty line leaves an optional one out). Any other
    count is an error here, up front: a line that would be silently ignored (a confidential
    client's secret) only shows up as ``invalid_client`` after the browser sign-in.
    """
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    values = [line.strip() for line in lines]
    if len(values) == len(asked):
        chosen = list(asked)
    elif len(values) == len(every):
        chosen = list(every)
    else:
        order = ", ".join(f.key + ("" if f.required else " (optional)") for f in every) or "none"
        if len(values) > len(every):
            what = f"{len(values)} lines on stdin, but it takes at most {len(every)} secrets"
        else:
            what = f"{len(values)} secret line(s) on stdin do not match its secrets"
        raise UsageError(f"{what}; give one line per secret, in this order: {order}", account=account)
    result: dict[str, str] = {}
    for fld, value in zip(chosen, values, strict=True):
        if not value and fld.required:
            raise UsageError(f"the {fld.label.lower()} line on stdin is empty", account=account)
        if value:
            result[fld.key] = value
    return result


def read_secrets(
    fields: list[Field], *, from_stdin: bool, account: str, every: Sequence[Field] | None = None
) -> dict[str, str]:
    if from_stdin:
        return match_stdin_lines(
            _stdin_text(account).splitlines(), fields, fields if every is None else every, account=account
        )
    if not fields:
        return {}
    if not sys.stdin.isatty():
        raise UsageError(
            f"no terminal to ask for the {fields[0].label.lower()}; pipe it in with --secret-stdin",
            account=account,
        )
    result: dict[str, str] = {}
    for field in fields:
        value = read_hidden(f"{field.label} for {account}: ")
        if not value and field.required:
            raise UsageError(f"{field.label.lower()} is required", account=account)
        if value:
            result[field.key] = value
    return result


def _stdin_text(account: str) -> str:
    """Standard input as UTF-8 text; other bytes are refused in words (not a decoding traceback)."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # a text stream without bytes beneath (an embedding, a test)
        return sys.stdin.read()
    raw = buffer.read()
    try:
        return str(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"the secret on standard input is not UTF-8 text (byte {exc.start + 1}); "
            "pass the secret as UTF-8 (e.g. pipe it through 'iconv -t UTF-8')",
            account=account,
        ) from None


_ERASE = (0x7F, 0x08)  # DEL and BS: what the backspace key sends
_KILL = 0x15  # Ctrl-U: start the line over


def read_hidden(prompt: str) -> str:
    """A line typed or pasted on the terminal (stdin), not echoed.

    Not getpass: it reads in the terminal's canonical mode, where the kernel caps a line (4095
    bytes on Linux, 1024 on macOS) and silently drops the rest, so a pasted 16 KB JWT would be
    stored cut short. Here canonical mode is off too (echo off, signals on: Ctrl-C still works)
    and the line is assembled byte by byte, of any length.
    """
    if sys.platform == "win32":  # no termios: getpass reads key by key, without a line limit
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
    return remaining(deadline - time.time())


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
                print(f"trayauth: {wording.line(exc)}", file=sys.stderr, flush=True)

        def reader() -> None:
            while not question.finished:
                line = sys.stdin.readline()
                if not line:
                    return
                if line.strip() and not question.finished:
                    loop.call_soon_threadsafe(submit, line.strip())

        threading.Thread(target=reader, name="paste-redirect", daemon=True).start()
