"""What a vendor handler sees and returns: a parsed request, a reply, a route.

Why a layer of our own over ``http.server``: handlers stay pure functions of (state, request) that
the fault layer can wrap — it needs to know where a reply's token field lives to drop or override
it, and whether a redirect carries a ``code`` — and that is easier with a plain dataclass than
with bytes already on the wire.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote_plus, urlencode

if TYPE_CHECKING:
    from trayauth.demo.context import Context

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"

# A path inside a JSON body: keys and list indexes, e.g. ("data", 0, "attributes", "access_token").
FieldPath = tuple[str | int, ...]


@dataclass
class Request:
    method: str
    path: str  # below the vendor prefix, without the leading slash
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    deny: bool = False  # the "deny" fault: an approval page answers as if the user said no

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None when it is not one (or not labelled JSON)."""
        if self.content_type != JSON_TYPE and not self.content_type.endswith("+json"):
            return None
        try:
            data = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def form(self) -> dict[str, str] | None:
        """The form body, or None when the body is not form-encoded.

        RFC 6749 §3.2: a parameter sent twice is an invalid request, so that answers 400 here.
        """
        if self.content_type != FORM_TYPE:
            return None
        return parse_params(self.body.decode("utf-8", "replace"))

    def bearer(self) -> str | None:
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None
        return value.strip()

    def basic(self) -> tuple[str, str] | None:
        """HTTP Basic client credentials; RFC 6749 §2.3.1 form-encodes both halves first."""
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise Answer(oauth_error(401, "invalid_client", "malformed Basic credentials")) from None
        user, sep, password = decoded.partition(":")
        if not sep:
            raise Answer(oauth_error(401, "invalid_client", "malformed Basic credentials"))
        return unquote_plus(user), unquote_plus(password)


def parse_params(text: str) -> dict[str, str]:
    parsed = parse_qs(text, keep_blank_values=True)
    repeated = sorted(k for k, v in parsed.items() if len(v) > 1)
    if repeated:
        raise Answer(oauth_error(400, "invalid_request", f"parameter sent more than once: {repeated[0]}"))
    return {k: v[0] for k, v in parsed.items()}


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, or bytes sent as they are
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    token_path: FieldPath | None = None  # where the token field lives, for the field faults
    redirect: str | None = None  # 302 to this URL plus `params`
    params: dict[str, str] = field(default_factory=dict)

    def location(self) -> str:
        assert self.redirect is not None
        joiner = "&" if "?" in self.redirect else "?"
        return self.redirect + (joiner + urlencode(self.params) if self.params else "")

    def encode(self) -> bytes:
        if self.redirect is not None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if self.body is None:
            return b""
        return json.dumps(self.body).encode("utf-8")


class Answer(Exception):
    """Raised by a helper deep in a handler to answer at once (a rejected client, a bad body)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def oauth_error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> Reply:
    """RFC 6749 §5.2 error body."""
    return Reply(status, {"error": error, "error_description": description}, headers=dict(headers or {}))


def html(status: int, title: str, text: str = "", form: str = "") -> Reply:
    """A tiny page for the browser-facing endpoints (approval, device code entry, errors)."""

    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
        "<body style='font-family:sans-serif;max-width:36em;margin:3em auto'>"
        f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{form}"
        "<p><small>trayauth demo provider: fake accounts only</small></p>"
        "</body></html>"
    )
    return Reply(status, page.encode("utf-8"), content_type="text/html; charset=utf-8")


Handler = Callable[["Context", Request], Reply]


@dataclass(frozen=True)
class Route:
    """One endpoint. ``name`` is what inject()/count() take; usually the path below the vendor."""

    vendor: str
    path: str
    name: str
    methods: tuple[str, ...]
    handler: Handler
    limited: bool = False  # subject to the vendor's rate limit (its token endpoint)
    interactive: bool = False  # answers "deny" by redirecting with error=access_denied
