"""Tokens wherever developers work: exec/env, httpx and requests auth, kubectl, git, a local proxy.

Every integration gets its token from :func:`trayauth.integrations.source.get_token`: the tray's
agent when one answers (the local one, or ``$TRAYAUTH_AGENT`` forwarded over SSH), else the core
directly. Nothing here is imported by ``import trayauth.cli``; the httpx and requests adapters
are imported only by the programs that use them::

    from trayauth.integrations.httpx_auth import TrayauthAuth        # httpx, sync and async
    from trayauth.integrations.requests_auth import TrayauthRequestsAuth   # pip install trayauth[requests]
"""
