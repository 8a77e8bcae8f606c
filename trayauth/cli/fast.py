"""``trayauth token/header`` through a running tray (or a forwarded agent): standard library only.

When the tray runs it holds the tokens in memory and renews them itself, so asking it is both the
fastest path and the one that can never race the tray over a rotating refresh token.

:func:`token_via_agent` is the piece other commands that need a token reuse (``exec``, ``kube``,
``git-credential``): it asks, prints the tray's warning or error line, and tells the caller
whether to use the token, exit, or go direct.
"""

from __future__ import annotations

import os
import sys

from trayauth.client import AGENT_ENV, Answer, fetch_token
from trayauth.domain.text import header_line

NO_AGENT_EXIT = 1


def format_output(command: str, token: str, token_type: str = "Bearer") -> str:
    """``header``'s line or ``token``'s bare token: the same for the tray's answer and the vault's."""
    return header_line(token, token_type) if command == "header" else token


def token_via_agent(name: str) -> Answer | int | None:
    """The tray's token for ``name`` (an :class:`Answer` with ``token`` set), an exit code, or None.

    - an Answer: use ``answer.token``; a warning, if any, is already on stderr;
    - an int: the tray refused (or ``$TRAYAUTH_AGENT`` names a socket nobody answers on); the
      one-line reason is already on stderr: exit with it;
    - None: no tray runs here: go direct (the vault and the network, under the account lock).
    """
    try:
        answer = fetch_token(name)
    except OSError:
        answer = None
    if answer is None:
        forwarded = os.environ.get(AGENT_ENV)
        if not forwarded:
            return None
        # A forwarded agent is the only source where it is set (the remote host has no vault of
        # its own): going direct would only say "no account named …", which misleads.
        print(
            f"trayauth: no agent answers at ${AGENT_ENV} ({forwarded}); is the tray running and the "
            "socket forwarded?",
            file=sys.stderr,
        )
        return NO_AGENT_EXIT
    if answer.token is None:
        error = answer.error
        if answer.next is not None:  # the error path may import more: only the token path is timed
            from trayauth.cli.wording import line_from_wire

            error = line_from_wire(str(error), answer.next)
        print(f"trayauth: {error}", file=sys.stderr)
        return answer.exit_code
    if answer.warning:
        from trayauth.cli.wording import renewal_warning_of

        warning = renewal_warning_of(answer.warning, answer.warning_next, expired=answer.expired)
        print(f"trayauth: warning: {warning}", file=sys.stderr)
    return answer


def via_tray(command: str, name: str) -> int | None:
    """The exit code when the tray answered, None when no tray runs (the caller goes direct)."""
    got = token_via_agent(name)
    if got is None or isinstance(got, int):
        return got
    assert got.token is not None
    print(format_output(command, got.token, got.token_type))
    return 0
