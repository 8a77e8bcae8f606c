"""Who may log in to the demo provider: users, application secrets, API keys, OAuth clients.

All of it is fake and printed on purpose (``python -m trayauth.demo`` shows it), so a newcomer
can try every preset without a real account.
"""

from __future__ import annotations

import copy
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

PASSWORD = "demo-password"
LOOPBACK_ANY = ("http://127.0.0.1", "http://[::1]")  # any port, any path (RFC 8252 §7.3)


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str | None  # None: a public client (a desktop app cannot keep a secret)
    redirect_uris: tuple[str, ...] = LOOPBACK_ANY
    denies: bool = False  # the "user" always refuses this app: tests the access_denied path

    @property
    def public(self) -> bool:
        return self.secret is None


def redirect_allowed(client: Client, uri: str) -> bool:
    """Exact match, except that loopback registrations ignore the port (RFC 8252 §7.3).

    A registration without a path (``http://127.0.0.1``) accepts any path too, which is what the
    demo clients use: the client picks its own port and path. ``localhost`` is never accepted as
    a loopback alias, per RFC 8252 §8.3.
    """
    try:
        got = urlsplit(uri)
        port = got.port
    except ValueError:
        return False
    if got.fragment:
        return False
    for registered in client.redirect_uris:
        if uri == registered:
            return True
        want = urlsplit(registered)
        if want.scheme != "http" or want.hostname not in ("127.0.0.1", "::1"):
            continue
        if got.scheme != "http" or got.hostname != want.hostname or port is None:
            continue
        if want.path in ("", "/") or got.path == want.path:
            return True
    return False


class Accounts:
    def __init__(self) -> None:
        self._passwords: dict[str, dict[str, str]] = {
            "sentiance": {"demo@sentiance.test": PASSWORD},
            "senseye": {"demo@senseye.test": PASSWORD},
            "amino": {"demo@amino.test": PASSWORD},
            "oauth": {"demo": PASSWORD},
        }
        self._apps: dict[tuple[str, str], str] = {
            ("demo-tenant", "demo-application"): "demo-application-secret"
        }
        self._api_keys: dict[str, str] = {"demo-attentive-api-key": "Demo private app"}
        self._clients: dict[str, dict[str, Client]] = {
            "attentive": {
                "demo-attentive-app": Client("demo-attentive-app", "demo-attentive-client-secret"),
                "demo-attentive-denied": Client("demo-attentive-denied", "demo-denied-secret", denies=True),
            },
            "oauth": {
                "trayauth-public": Client("trayauth-public", None),
                "trayauth-confidential": Client("trayauth-confidential", "demo-client-secret"),
                "trayauth-denied": Client("trayauth-denied", None, denies=True),
            },
        }

    def demo(self) -> dict[str, dict[str, Any]]:
        """One demo login per vendor, as ``srv.users`` shows it (a copy: editing it changes nothing)."""
        users: dict[str, dict[str, Any]] = {
            "sentiance": {"username": "demo@sentiance.test", "password": PASSWORD},
            "senseye": {"username": "demo@senseye.test", "password": PASSWORD},
            "sensos": {
                "tenant_id": "demo-tenant",
                "application_id": "demo-application",
                "application_secret": "demo-application-secret",
            },
            "attentive": {
                "api_key": "demo-attentive-api-key",
                "client_id": "demo-attentive-app",
                "client_secret": "demo-attentive-client-secret",
                "denying_client_id": "demo-attentive-denied",
                "scope": "events:write subscriptions:write",
            },
            "amino": {"username": "demo@amino.test", "password": PASSWORD},
            "oauth": {
                "username": "demo",
                "password": PASSWORD,
                "public_client_id": "trayauth-public",
                "confidential_client_id": "trayauth-confidential",
                "client_secret": "demo-client-secret",
                "denying_client_id": "trayauth-denied",
                "clients": {
                    "trayauth-public": {"client_secret": None},
                    "trayauth-confidential": {"client_secret": "demo-client-secret"},
                    "trayauth-denied": {"client_secret": None},
                },
            },
        }
        return copy.deepcopy(users)

    def add_user(self, vendor: str, username: str, password: str) -> None:
        """A login for ``vendor``. For sensos the username is "TENANT/APPLICATION" and the
        password the application secret; for attentive the password is an API key."""
        if vendor == "sensos":
            tenant, sep, app = username.partition("/")
            if not sep or not tenant or not app:
                raise ValueError("sensos users are 'tenant_id/application_id'")
            self._apps[(tenant, app)] = password
        elif vendor == "attentive":
            self._api_keys[password] = username
        elif vendor in self._passwords:
            self._passwords[vendor][username] = password
        else:
            raise ValueError(f"unknown vendor {vendor!r}")

    def add_client(self, vendor: str, client: Client) -> None:
        if vendor not in self._clients:
            raise ValueError(f"{vendor!r} has no OAuth clients (attentive or oauth)")
        self._clients[vendor][client.client_id] = client

    def password_ok(self, vendor: str, username: str, password: str) -> bool:
        known = self._passwords.get(vendor, {}).get(username)
        return known is not None and hmac.compare_digest(known.encode(), password.encode())

    def app_secret_ok(self, tenant: str, app: str, secret: str) -> bool:
        known = self._apps.get((tenant, app))
        return known is not None and hmac.compare_digest(known.encode(), secret.encode())

    def api_key_app(self, key: str) -> str | None:
        return self._api_keys.get(key)

    def client(self, vendor: str, client_id: str) -> Client | None:
        return self._clients.get(vendor, {}).get(client_id)
