"""RFC 8628 device authorization: the codes, the polling rules, and the page a user types into.

The polling verdicts are the part a client most often gets wrong, so they are exact here:
``authorization_pending`` until approved, ``slow_down`` (and a 5-second longer interval from then
on, §3.5) when polled sooner than the interval, ``expired_token`` after ``expires_in``,
``access_denied`` once the user refuses, and the device code is single-use.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from trayauth.demo.wire import Answer, Reply, Request, html

if TYPE_CHECKING:
    from trayauth.demo.context import Context

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels (no words), no digits (no 0/O confusion)


@dataclass
class DeviceAuth:
    device_code: str
    user_code: str
    client_id: str
    scope: str
    expires_at: float
    interval: float
    last_poll: float | None = None
    status: str = "pending"  # pending | approved | denied | done
    sub: str = "demo"


class Refused(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(error)
        self.error = error
        self.description = description


def normalize(user_code: str) -> str:
    return "".join(ch for ch in user_code.upper() if ch.isalpha())


class DeviceBook:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._by_device: dict[str, DeviceAuth] = {}
        self._by_user: dict[str, DeviceAuth] = {}

    def start(self, client_id: str, scope: str, expires_in: float, interval: float) -> DeviceAuth:
        user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
        auth = DeviceAuth(
            secrets.token_urlsafe(32),
            f"{user_code[:4]}-{user_code[4:]}",
            client_id,
            scope,
            self._now() + expires_in,
            interval,
        )
        self._by_device[auth.device_code] = auth
        self._by_user[user_code] = auth
        return auth

    def find(self, user_code: str) -> DeviceAuth | None:
        return self._by_user.get(normalize(user_code))

    def decide(self, user_code: str, approve: bool, sub: str = "demo") -> DeviceAuth:
        auth = self.find(user_code)
        if auth is None:
            raise KeyError(f"no device authorization with user code {user_code!r}")
        if auth.status == "pending":
            auth.status = "approved" if approve else "denied"
            auth.sub = sub
        return auth

    def poll(self, device_code: str, client_id: str) -> DeviceAuth:
        """The approved authorization (now spent), or Refused with the §3.5 error to send."""
        auth = self._by_device.get(device_code)
        if auth is None or auth.client_id != client_id or auth.status == "done":
            raise Refused("invalid_grant", "unknown or already used device_code")
        now = self._now()
        if now >= auth.expires_at:
            raise Refused("expired_token", "the device code expired; start again")
        if auth.status == "denied":
            raise Refused("access_denied", "the user refused")
        too_soon = auth.last_poll is not None and now - auth.last_poll < auth.interval
        auth.last_poll = now
        if auth.status == "approved":
            auth.status = "done"
            return auth
        if too_soon:
            auth.interval += 5
            raise Refused("slow_down", f"poll at most every {auth.interval:g} s")
        raise Refused("authorization_pending", "waiting for the user")


def _form(user_code: str) -> str:

    value = escape(user_code, quote=True)
    return (
        f"<form method='post'><label>Code <input name='user_code' value='{value}' autofocus></label> "
        "<button name='action' value='approve'>Approve</button> "
        "<button name='action' value='deny'>Deny</button></form>"
    )


def device_page(ctx: Context, req: Request) -> Reply:
    """Where the user types the code: approve or deny it (the demo's stand-in for a login page)."""
    if req.method == "GET":
        code = req.query.get("user_code", "")
        return html(200, "Connect a device", "Enter the code your device shows.", _form(code))
    form = req.form() or {}
    approve = form.get("action", "approve") == "approve"
    try:
        auth = ctx.devices.decide(form.get("user_code", ""), approve)
    except KeyError:
        raise Answer(html(400, "Unknown code", "Check the code and try again.", _form(""))) from None
    if auth.status in ("approved", "done"):
        return html(200, "Device connected", "You can go back to your device.")
    return html(200, "Request denied", "The device was not connected.")
