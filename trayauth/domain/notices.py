"""The warning shown beside a token handed out after a renewal problem, worded once.

The CLI and the tray's socket both print it. ``error`` is the account's recorded error, which
names its account (whoever records one attaches the account: :meth:`TrayauthError.about`), so
the warning adds nothing before it. It must not call a token "still valid" when the provider said
it had expired (``expires_in: -100``).
"""

from __future__ import annotations


def renewal_warning(error: str, *, expired: bool) -> str:
    if expired:
        return f"{error} (the provider says this token has already expired; it may be refused)"
    return f"{error} (the current token is still valid)"
