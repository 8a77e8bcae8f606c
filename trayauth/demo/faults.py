"""Faults a test can inject into the next answers of one endpoint.

Named faults (strings) and status faults (dicts). Each is either answered *instead of* the
request (the request never reached the "application", nothing changes on the server) or applied
*after* processing (the server did its work, e.g. rotated a refresh token, and then the answer
went wrong). The difference is the point of crash-safety tests, so each fault states which:

==========================  =======  =================================================================
fault                       when     effect
==========================  =======  =================================================================
{"status": 503, ...}        instead  that status; optional "headers" {name: value} and "body" (str is
                                     sent as text/plain unless headers say otherwise; anything else as
                                     JSON); "after_processing": true makes it an "after" fault
"reset"                     instead  the connection is closed (TCP RST) after the request is read
"reset_after_processing"    after    processed, then the connection is reset: the answer is lost
"delay:<seconds>"           after    sleep (at most 30 s), then answer normally
"truncated_json"            after    the JSON answer cut in half, Content-Length matching the cut
"html_error"                instead  a 502 text/html page, as a proxy in front of a dead server sends
"wrong_content_type"        after    the normal JSON body labelled text/plain
"not_json"                  instead  200, application/json, and a body that is not JSON
"big_body:<bytes>"          after    the normal JSON object padded with a "padding" field to <bytes>
"missing_fields"            after    the token field dropped (from a redirect: the code)
"field:<name>=<json>"       after    one field of the answer set (JSON null deletes it); for a
                                     redirect, one query parameter (e.g. field:state="forged")
"deny"                      instead  approval pages redirect with error=access_denied; elsewhere 403
==========================  =======  =================================================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trayauth.demo.wire import Reply

MAX_DELAY = 30.0
MAX_BIG_BODY = 64 * 1024 * 1024
INSTEAD = frozenset({"reset", "html_error", "not_json", "deny"})
AFTER = frozenset({"reset_after_processing", "truncated_json", "wrong_content_type", "missing_fields"})


@dataclass(frozen=True)
class Fault:
    kind: str
    after: bool = False
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    seconds: float = 0.0
    size: int = 0
    name: str = ""
    value: Any = None


def parse(spec: str | Mapping[str, Any]) -> Fault:
    """Validate a fault when it is injected, so a typo fails the test that made it, not a later one."""
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"status", "headers", "body", "after_processing"}
        status = spec.get("status")
        if unknown or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"a status fault is {{'status': int, 'headers'?, 'body'?}}, not {dict(spec)!r}")
        headers = {str(k): str(v) for k, v in dict(spec.get("headers") or {}).items()}
        return Fault("status", bool(spec.get("after_processing")), status, headers, spec.get("body"))
    if spec in INSTEAD:
        return Fault(spec)
    if spec in AFTER:
        return Fault(spec, after=True)
    kind, sep, arg = spec.partition(":")
    if sep and kind == "delay":
        return Fault(kind, after=True, seconds=min(max(float(arg), 0.0), MAX_DELAY))
    if sep and kind == "big_body":
        size = int(arg)
        if not 0 < size <= MAX_BIG_BODY:
            raise ValueError(f"big_body size must be 1..{MAX_BIG_BODY}")
        return Fault(kind, after=True, size=size)
    if sep and kind == "field":
        name, eq, raw = arg.partition("=")
        if not name or not eq:
            raise ValueError("a field fault is field:<name>=<json value>")
        return Fault(kind, after=True, name=name, value=json.loads(raw))
    raise ValueError(f"unknown fault {spec!r}")


def instead(fault: Fault) -> Reply | None:
    """The answer sent in place of processing (None for "reset": no answer at all)."""
    if fault.kind == "status":
        return status_reply(fault)
    if fault.kind == "html_error":
        page = (
            b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
        )
        return Reply(502, page, content_type="text/html")
    if fault.kind == "not_json":
        return Reply(
            200, b"Service temporarily unavailable, please try later", content_type="application/json"
        )
    if fault.kind == "deny":
        return Reply(403, {"error": "access_denied", "error_description": "denied (injected fault)"})
    return None


def status_reply(fault: Fault) -> Reply:
    headers = dict(fault.headers)
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    body = fault.body
    if isinstance(body, str):
        return Reply(fault.status, body.encode("utf-8"), content_type or "text/plain; charset=utf-8", headers)
    return Reply(fault.status, body, content_type or "application/json", headers)


def _container(reply: Reply) -> tuple[dict[str, Any] | None, str | None]:
    """The object holding the reply's token field (or its top level), and that field's name."""
    if reply.redirect is not None:
        return reply.params, (str(reply.token_path[-1]) if reply.token_path else None)
    node: Any = reply.body
    if reply.token_path:
        for step in reply.token_path[:-1]:
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                node = reply.body
                break
    name = str(reply.token_path[-1]) if reply.token_path else None
    return (node if isinstance(node, dict) else None), name


def after(fault: Fault, reply: Reply) -> Reply:
    """Spoil a processed answer. "reset_after_processing" and "delay" are the server's to do."""
    if fault.kind == "status":
        return status_reply(fault)
    if fault.kind == "truncated_json":
        data = reply.encode()
        reply.body, reply.redirect = data[: max(1, len(data) // 2)], None
    elif fault.kind == "wrong_content_type":
        reply.content_type = "text/plain; charset=utf-8"
    elif fault.kind == "big_body":
        reply.body = _padded(reply.body, fault.size)
    elif fault.kind in ("missing_fields", "field"):
        node, token_field = _container(reply)
        name = fault.name if fault.kind == "field" else token_field
        if node is not None and name is not None:
            value = fault.value if fault.kind == "field" else None
            if value is None:
                node.pop(name, None)
            elif reply.redirect is not None:
                node[name] = value if isinstance(value, str) else json.dumps(value)
            else:
                node[name] = value
    return reply


def _padded(body: Any, size: int) -> bytes:
    base = dict(body) if isinstance(body, dict) else {}
    base["padding"] = ""
    overhead = len(json.dumps(base).encode("utf-8"))
    base["padding"] = "x" * max(0, size - overhead)
    return json.dumps(base).encode("utf-8")
