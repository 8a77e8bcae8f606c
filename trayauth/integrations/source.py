"""Where every integration gets a token: the tray's agent when it answers, else the core itself.

Light at import time: ``trayauth exec``, ``kube`` and ``git-credential`` run before every
kubectl or git call and must stay as quick as ``trayauth token``, so the agent path is
:func:`trayauth.client.fetch_token` (which also honours ``$TRAYAUTH_AGENT``); the core (vault,
httpx, asyncio) is imported only when no tray answers.

``renew`` is the digest (:func:`trayauth.client.token_digest`) of a token a server refused: the
token is renewed unless someone already did, so a burst of 401s costs one renewal.
"""

from __future__ import annotations

import os

from trayauth.client import AGENT_ENV, fetch_token

TYPE_CHECKING = False  # not typing's: this is on the exec/kube/git-credential fast path
if TYPE_CHECKING:
    from trayauth.client import Answer


class Grant:
    """A token to use now. A plain class: ``dataclasses`` and ``typing`` are slow to import."""

    __slots__ = ("expires_at", "token", "token_type", "warning")

    def __init__(
        self,
        token: str,
        token_type: str = "Bearer",
        expires_at: float | None = None,
        warning: str | None = None,
    ) -> None:
        self.token = token
        self.token_type = token_type
        self.expires_at = expires_at
        self.warning = warning

    def __repr__(self) -> str:  # never the token itself
        return f"Grant(token_type={self.token_type!r}, expires_at={self.expires_at!r})"


def agent_error(message: str, exit_code: int, account: str | None = None) -> Exception:
    """The tray refused (or ``$TRAYAUTH_AGENT`` does not answer): a TrayauthError carrying the
    tray's exit code. Built here, on the failure path, so that the success path never imports
    the error classes. ``account``: the tray's line is about this account and names it already
    (the tray attaches the account to every error it sends)."""
    from trayauth.domain.errors import TrayauthError

    error = TrayauthError(message, account=account, named=account is not None)
    error.exit_code = exit_code
    return error


def from_agent(name: str, renew: str | None = None) -> Grant | None:
    """The tray's answer, None when no tray runs here. Raises a TrayauthError on a refusal, and when
    ``$TRAYAUTH_AGENT`` names a socket nobody answers on (a remote shell has no vault of its own
    to fall back to: going direct would only say "no account named …")."""
    try:
        answer = fetch_token(name, renew)
    except OSError:
        answer = None
    if answer is None:
        forwarded = os.environ.get(AGENT_ENV)
        if forwarded:
            # The same line and exit code as `trayauth token` (trayauth.cli.fast).
            raise agent_error(
                f"no agent answers at ${AGENT_ENV} ({forwarded}); "
                "is the tray running and the socket forwarded?",
                1,
            )
        return None
    return grant_of(answer, name)


def grant_of(answer: Answer, name: str) -> Grant:
    if answer.token is None:
        from trayauth.cli.wording import line_from_wire  # the error path only: the token path stays light

        error = line_from_wire(answer.error or "the tray could not give a token", answer.next)
        raise agent_error(error, answer.exit_code or 1, account=name)
    warning = None
    if answer.warning:
        from trayauth.cli.wording import renewal_warning_of

        warning = renewal_warning_of(answer.warning, answer.warning_next, expired=answer.expired)
    return Grant(answer.token, answer.token_type, answer.expires_at, warning)


def get_token(name: str, renew: str | None = None) -> Grant:
    """A token for ``name``: from the tray when it runs, else from the core."""
    grant = from_agent(name, renew)
    if grant is not None:
        return grant
    from trayauth.integrations.direct import direct  # the core: only when no tray answers

    return direct(name, renew)
