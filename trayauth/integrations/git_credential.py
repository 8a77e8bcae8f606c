"""``trayauth git-credential NAME get|store|erase``: git's credential helper protocol.

Configured per URL (``git config credential.https://HOST.helper "trayauth git-credential NAME"``),
git writes ``key=value`` lines (protocol, host, path, username, password) and a blank line; for
``get`` we answer ``username=`` and ``password=`` (the token). ``store`` is git saying a credential
worked: nothing to keep, trayauth already has it. ``erase`` is git saying the server refused it:
the token is renewed then (unless it has been already), so the next ``get`` gets a new one.

A token is never sent over plain HTTP to anything but a loopback address, the same rule as for
trayauth's own requests: for such a request ``get`` answers nothing and says why on stderr.
"""

from __future__ import annotations

import sys

from trayauth.integrations import bad_argument

TYPE_CHECKING = False  # not typing's: on the CLI's fast path
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

ACTIONS = ("get", "store", "erase")
DEFAULT_USERNAME = "oauth2"  # GitLab's documented name for a token; most servers ignore it
_LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")


def parse(lines: Iterable[str]) -> dict[str, str]:
    """git's attribute lines up to a blank line; ``key[]`` (multi-valued) keeps the last value."""
    attrs: dict[str, str] = {}
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            break
        key, sep, value = line.partition("=")
        if sep:
            attrs[key] = value
    return attrs


def plain_http_refused(attrs: Mapping[str, str]) -> bool:
    if attrs.get("protocol", "https") != "http":
        return False
    host = attrs.get("host", "").lower()
    if host.startswith("["):
        name = host.split("]", 1)[0] + "]"
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return not (name in _LOOPBACK or name.startswith("127."))


def answer_get(username: str, token: str) -> str:
    if "\n" in token or "\0" in token or "\n" in username:
        raise bad_argument("the token cannot be passed to git (it contains a line break)")
    return f"username={username}\npassword={token}\n"


def helper(
    action: str,
    attrs: Mapping[str, str],
    username: str,
    fetch: Callable[[str | None], tuple[str, str | None]],
    digest: Callable[[str], str],
) -> str:
    """What to print for ``action``. ``fetch(renew)`` returns (token, warning)."""
    if action not in ACTIONS:
        raise bad_argument(f"unknown git credential action {action!r}", choices=ACTIONS)
    if action == "store":
        return ""
    if action == "erase":
        refused = attrs.get("password")
        if refused:
            fetch(digest(refused))
        return ""
    if plain_http_refused(attrs):
        print(
            f"trayauth: not sending a token over plain http to {attrs.get('host', '?')}; use https",
            file=sys.stderr,
        )
        return ""
    token, warning = fetch(None)
    if warning:
        print(f"trayauth: warning: {warning}", file=sys.stderr)
    return answer_get(username, token)
