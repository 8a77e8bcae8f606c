"""Where every integration gets a token: the tray's agent when it answers, else the core itself.

Standard library only at import time: ``trayauth exec``, ``kube`` and ``git-credential`` run
before every kubectl or git call and must stay as quick as ``trayauth token``. The core (vault,
httpx, asyncio) is imported only when no tray answers.

``renew`` is the digest (:func:`trayauth.client.token_digest`) of a token a server refused: the
token is renewed unless someone already did, so a burst of 401s costs one renewal.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from trayauth.domain.errors import TrayauthError


class Grant(NamedTuple):
    """A token to use now. NamedTuple, not a dataclass: ``dataclasses`` is slow to import."""

    token: str
    token_type: str = "Bearer"
    expires_at: float | None = None
    warning: str | None = None


class AgentError(TrayauthError):
    """The tray's agent answered with a refusal; ``exit_code`` is the tray's."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message, hint="")
        self.exit_code = exit_code


class AgentUnreachable(TrayauthError):
    exit_code = 4


def from_agent(name: str, renew: str | None = None) -> Grant | None:
    """The tray's answer, None when no tray runs here. Raises AgentError on a refusal, and
    AgentUnreachable when ``$TRAYAUTH_AGENT`` names a socket nobody answers on (a remote shell
    has no vault of its own to fall back to)."""
    from trayauth.client import forwarded_agent, request_token
    from trayauth.storage.paths import runtime_path

    try:
        reply = request_token(name, runtime_path(), renew=renew)
    except OSError:
        reply = None
    if reply is None:
        forwarded = forwarded_agent()
        if forwarded:
            raise AgentUnreachable(
                f"no trayauth agent answers on {forwarded} (TRAYAUTH_AGENT)",
                hint="is the ssh session that forwards it (ssh -R) still open, and the tray running?",
            )
        return None
    return grant_of(reply)


def grant_of(reply: dict[str, Any]) -> Grant:
    token = reply.get("token")
    if reply.get("ok") and isinstance(token, str) and token:
        expires = reply.get("expires_at")
        warning = reply.get("warning")
        return Grant(
            token,
            str(reply.get("token_type") or "Bearer"),
            float(expires) if isinstance(expires, int | float) and not isinstance(expires, bool) else None,
            warning if isinstance(warning, str) and warning else None,
        )
    error = reply.get("error")
    code = reply.get("exit_code")
    raise AgentError(
        error if isinstance(error, str) and error else "the tray could not give a token",
        code if isinstance(code, int) and not isinstance(code, bool) and code > 0 else 1,
    )


def direct(name: str, renew: str | None = None) -> Grant:
    """The core's answer, without a tray: the vault, renewing (single-flight) when due."""
    import asyncio

    from trayauth.client import token_digest
    from trayauth.services.broker import Broker

    broker = Broker.open()
    refuse_if_asking(broker.store.paths.root, name)
    tokens = None if renew else broker.cached_token(name)
    if tokens is None:

        async def fetch() -> Any:
            try:
                got = await broker.token(name)
                if renew and token_digest(got.access_token) == renew:
                    got = await broker.refresh(name)
                return got
            finally:
                await broker.aclose()

        tokens = asyncio.run(fetch())
    view = broker.view(name)
    warning = f"{name}: {view.error} (the current token is still valid)" if view.error else None
    return Grant(tokens.access_token, tokens.token_type, tokens.expires_at, warning)


def refuse_if_asking(root: Any, name: str) -> None:
    """An account set to ask first is handed out only by the tray, which can ask."""
    from trayauth.storage.consent import ConsentStore

    if ConsentStore(root).asks(name):
        from trayauth.domain.consent import ConsentDenied

        raise ConsentDenied(
            f"{name} asks before handing out its token, and only the tray can ask",
            hint="start the tray ('trayauth'), then try again",
        )


def get_token(name: str, renew: str | None = None) -> Grant:
    """A token for ``name``: from the tray when it runs, else from the core."""
    grant = from_agent(name, renew)
    return grant if grant is not None else direct(name, renew)
