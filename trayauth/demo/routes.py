"""Every endpoint of every vendor, and the protected resource each vendor gets for tests.

``/{vendor}/whoami`` answers 200 only to a token the server currently honours, so a test can
prove that the token a client hands out *works*, not merely that it looks right.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trayauth.demo import attentive, oauth, vendors
from trayauth.demo.context import VENDORS
from trayauth.demo.wire import Handler, Reply, Request, Route

if TYPE_CHECKING:
    from trayauth.demo.context import Context


def whoami_for(vendor: str) -> Handler:
    def whoami(ctx: Context, req: Request) -> Reply:
        sub = ctx.subject(vendor, req.bearer())
        if sub is None:
            challenge = f'Bearer realm="{vendor}", error="invalid_token"'
            body = {"ok": False, "error": "Unauthorized", "message": "Invalid or expired access token"}
            return Reply(401, body, headers={"WWW-Authenticate": challenge})
        return Reply(200, {"ok": True, "sub": sub})

    return whoami


ROUTES: tuple[Route, ...] = (
    *vendors.ROUTES,
    *attentive.ROUTES,
    *oauth.ROUTES,
    *(Route(v, "whoami", "whoami", ("GET", "POST"), whoami_for(v)) for v in VENDORS),
)

BY_PATH: dict[tuple[str, str], Route] = {(r.vendor, r.path): r for r in ROUTES}
BY_NAME: dict[tuple[str, str], Route] = {(r.vendor, r.name): r for r in ROUTES}


def endpoint(vendor: str, name: str) -> Route:
    """The route a test means by (vendor, endpoint name or path); ValueError for a typo."""
    route = BY_NAME.get((vendor, name)) or BY_PATH.get((vendor, name.strip("/")))
    if route is None:
        known = sorted(n for v, n in BY_NAME if v == vendor)
        if vendor not in VENDORS:
            raise ValueError(f"unknown vendor {vendor!r}; one of {', '.join(VENDORS)}")
        raise ValueError(f"{vendor} has no endpoint {name!r}; one of {', '.join(known)}")
    return route
