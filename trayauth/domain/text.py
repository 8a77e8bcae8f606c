"""How trayauth writes a duration and the header line: one rule each, for the CLI and the tray.

Two kinds of duration, because they are read differently:

- :func:`remaining` is a countdown, in a column or a line that ticks: ``12:04`` under an hour (minutes
  and seconds), ``5h03m`` under two days, then ``3d``. No space inside, so ``trayauth list``'s
  EXPIRES column stays one word for ``awk``, and the tray's rows read the same.
- :func:`span` is a duration inside a sentence that does not tick (a notification, an error):
  ``45 s``, ``12 min``, ``5 h``, ``3 days``, rounded to the nearest unit so a warning sent a moment
  after its threshold still says the "5 min" the setting says.

The header line is ``Authorization: Bearer <token>`` (RFC 6750 §2.1); a provider that names
another token type (RFC 6749 §7.1) gets its own scheme, and "bearer" in any case is written
"Bearer".

On the CLI's fast path (``trayauth header NAME``): standard library only, and not even ``typing``.
"""

from __future__ import annotations

NO_EXPIRY = "no expiry"
EXPIRED = "expired"
DEFAULT_SCHEME = "Bearer"


def remaining(seconds: float) -> str:
    """A countdown: ``12:04``, ``5h03m``, ``3d`` (whole seconds, never negative)."""
    s = max(0, int(seconds))
    if s < 3600:
        return f"{s // 60}:{s % 60:02d}"
    if s < 2 * 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d"


def time_left(seconds: float | None) -> str:
    """What is left of a token's life as a countdown, ``expired`` at zero, ``no expiry`` for none."""
    if seconds is None:
        return NO_EXPIRY
    if seconds <= 0:
        return EXPIRED
    return remaining(seconds)


def span(seconds: float) -> str:
    """A duration in a sentence: ``45 s`` under two minutes, ``12 min`` under two hours, ``5 h``
    under two days, then ``3 days``; each rounded to its unit."""
    s = round(max(0.0, seconds))
    if s < 120:
        return f"{s} s"
    if s < 2 * 3600:
        return f"{round(s / 60)} min"
    if s < 2 * 86400:
        return f"{round(s / 3600)} h"
    return f"{round(s / 86400)} days"


def scheme(token_type: str) -> str:
    """The Authorization scheme for a token of ``token_type`` (the token answer's field)."""
    return DEFAULT_SCHEME if not token_type or token_type.lower() == "bearer" else token_type


def authorization(token: str, token_type: str = DEFAULT_SCHEME) -> str:
    """The Authorization header's value: ``Bearer <token>``."""
    return f"{scheme(token_type)} {token}"


def header_line(token: str, token_type: str = DEFAULT_SCHEME) -> str:
    """The whole header line: ``Authorization: Bearer <token>``."""
    return f"Authorization: {authorization(token, token_type)}"


DEFAULT_HEADER_FORMAT = "Authorization: Bearer {token}"


def custom_header(header_format: str, token: str, token_type: str = DEFAULT_SCHEME) -> str:
    """The tray's "Copy header" under its app setting. The default format is :func:`header_line`
    (so the copy is what ``trayauth header`` prints); another format is the user's own line, with
    the token in place of ``{token}`` (the config store checked it; a bad one falls back)."""
    if header_format == DEFAULT_HEADER_FORMAT:
        return header_line(token, token_type)
    try:
        return header_format.format(token=token)
    except (KeyError, IndexError, ValueError):
        return header_line(token, token_type)
