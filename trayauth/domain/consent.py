"""Consent before a token leaves: who asks, the question shown to the user, and the answer.

An account marked "Ask before handing out" gives its token to a program only after the user
said yes in the tray. This module is the plain data of that exchange, no I/O and no Qt: the
agent (``services.consent``) fills in a :class:`Requester` from the socket's peer credentials,
asks through a :class:`ConsentQuestion`, and the tray's dialog (or a test) answers it.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trayauth.domain.errors import TrayauthError
from trayauth.domain.prompts import Question

# Programs that run a script: "Always for this program" then means this script, not every
# script the interpreter may ever run.
_INTERPRETERS = ("python", "perl", "ruby", "node", "sh", "bash", "zsh", "fish", "dash", "pwsh", "java")
_SSH_CLIENTS = frozenset({"ssh", "autossh"})


class ConsentDenied(TrayauthError):
    """The user said no (or did not answer in time); the program gets no token."""

    exit_code = 5


class Decision(enum.StrEnum):
    ALLOW_ONCE = "allow_once"
    ALWAYS = "always"  # for this program, until revoked in Settings
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Requester:
    """The process at the other end of the agent socket, as the kernel (not the client) says.

    ``exe`` and ``cmdline`` come from /proc on Linux; either may be empty where the platform does
    not tell (then the question says so, and "always" is not offered: there is nothing to key on).
    """

    pid: int | None
    uid: int | None
    exe: str = ""
    cmdline: tuple[str, ...] = ()
    name: str = ""  # the kernel's name for it (comm), when its exe cannot be read

    @property
    def via_ssh(self) -> bool:
        """The peer is an ssh client relaying ``ssh -R``: the real caller is on another machine."""
        return (os.path.basename(self.exe) if self.exe else self.name) in _SSH_CLIENTS

    @property
    def program(self) -> str:
        """The key "Always for this program" remembers: the executable, plus the script it runs
        when it is an interpreter, or the whole command for a forwarded SSH session."""
        if self.via_ssh:
            return "ssh: " + " ".join(self.cmdline[1:])
        if not self.exe:
            return ""  # nothing trustworthy to remember: asked every time
        base = os.path.basename(self.exe)
        if base.startswith(_INTERPRETERS):
            script = _script_of(self.cmdline[1:])
            if script:
                return f"{self.exe} {script}"
        return self.exe

    def describe(self) -> str:
        """One line for the dialog and the activity log."""
        if self.via_ssh:
            host = _ssh_destination(self.cmdline[1:])
            return f"a forwarded SSH session (ssh to {host})" if host else "a forwarded SSH session"
        if not self.exe:
            if self.name and self.pid:
                return f"{self.name} (pid {self.pid}): {_short(self.cmdline)}"
            return f"process {self.pid}" if self.pid else "an unknown program"
        command = _short(self.cmdline)
        who = f"{self.exe} (pid {self.pid})" if self.pid else self.exe
        return f"{who}: {command}" if command else who


_SSH_OPTS_WITH_VALUE = frozenset("BbcDEeFIiJLlmOoPpQRSWw")


def _ssh_destination(args: Sequence[str]) -> str:
    """The host an ``ssh`` command line connects to: its first argument that is not an option."""
    it = iter(args)
    for arg in it:
        if arg == "--":
            return next(it, "")
        if arg.startswith("-") and len(arg) > 1:
            # "-p 22" takes the next word; "-p22" and flag bundles like "-NT" do not.
            if arg[-1] in _SSH_OPTS_WITH_VALUE and len(arg) == 2:
                next(it, "")
            continue
        return arg if arg.isprintable() else repr(arg)
    return ""


def _script_of(args: Sequence[str]) -> str:
    """The script an interpreter runs: the first argument that is not an option (``-m mod`` too)."""
    it = iter(args)
    for arg in it:
        if arg in ("-m", "-c"):
            value = next(it, "")
            return f"{arg} {value}" if arg == "-m" else "-c"
        if not arg.startswith("-"):
            return arg
    return ""


def _short(cmdline: Sequence[str], limit: int = 200) -> str:
    text = " ".join(a if a.isprintable() else repr(a) for a in cmdline)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ConsentQuestion(Question):
    """ "``requester`` wants ``account``'s token": answered with a :class:`Decision`.

    ``answer`` may be called once; the agent awaits it until ``deadline`` (POSIX seconds) and
    treats silence as Deny.
    """

    def __init__(
        self, account: str, requester: Requester, deadline: float, answer: Callable[[Decision], None]
    ) -> None:
        super().__init__(account)
        self.requester = requester
        self.deadline = deadline
        self._answer = answer

    @property
    def can_always(self) -> bool:
        return bool(self.requester.program)

    def answer(self, decision: Decision) -> None:
        if decision is Decision.ALWAYS and not self.can_always:
            decision = Decision.ALLOW_ONCE
        self._answer(decision)
