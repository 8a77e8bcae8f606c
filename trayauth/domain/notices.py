"""The warning shown beside a token handed out after a renewal problem, worded once.

The CLI and the tray's socket both print it. It must name the account once (the recorded error
often starts with the name already) and must not call a token "still valid" when the provider
said it had expired (``expires_in: -100``).
"""

from __future__ import annotations


def renewal_warning(name: str, error: str, *, expired: bool) -> str:
    text = error if error.startswith(f"{name}:") else f"{name}: {error}"
    if expired:
        return f"{text} (the provider says this token has already expired; it may be refused)"
    return f"{text} (the current token is still valid)"
