"""Tokens wherever developers work: exec/env, httpx and requests auth, kubectl, git, a local proxy.

Every integration gets its token from :func:`trayauth.integrations.source.get_token`: the tray's
agent when one answers (the local one, or ``$TRAYAUTH_AGENT`` forwarded over SSH), else the core
directly. Nothing here is imported by ``import trayauth.cli``; the httpx and requests adapters
are imported only by the programs that use them::

    from trayauth.integrations.httpx_auth import TrayauthAuth        # httpx, sync and async
    from trayauth.integrations.requests_auth import TrayauthRequestsAuth   # pip install trayauth[requests]
"""

from __future__ import annotations


def bad_argument(message: str, *, usage: str | None = None, choices: tuple[str, ...] = ()) -> Exception:
    """A :class:`~trayauth.domain.errors.BadArgument` with its structured hint (the CLI words it).
    exec, kube and git-credential are on the CLI's fast path, whose success path loads no error
    classes: this is the one place their failure path imports them."""
    from trayauth.domain.errors import BadArgument

    return BadArgument(message, usage=usage, choices=choices)
