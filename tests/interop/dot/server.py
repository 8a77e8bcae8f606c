"""The django-oauth-toolkit server that trayauth's generic OAuth presets are tested against.

Run as ``python server.py DATA_DIR``: a Django project of one file (DOT's own URLs and views,
unmodified, plus Django's stock login view), its database migrated into DATA_DIR, one user and one
application per way of signing in. It listens on 127.0.0.1 on a port the OS picks, prints one
JSON line on stdout (issuer, user, applications with their fresh secrets, versions) and serves
until stdin closes or it gets SIGTERM, so a dead test run never leaves it behind.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import threading
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
LOOPBACK = "http://127.0.0.1/callback"  # DOT matches any port on a loopback IP (RFC 8252 §7.3)


def _rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def configure(data_dir: Path, origin: str) -> None:
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF="urls",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "oauth2_provider",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(data_dir / "dot.sqlite3")}
        },
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [str(HERE / "templates")],
                "APP_DIRS": True,
                "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
            }
        ],
        STATIC_URL="/static/",
        LOGIN_URL="/accounts/login/",
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        LOGGING_CONFIG=None,
        OAUTH2_PROVIDER={
            "OIDC_ENABLED": True,
            "OIDC_RSA_PRIVATE_KEY": _rsa_pem(),
            "SCOPES": {
                "openid": "OpenID Connect",
                "profile": "Your name",
                "read": "Read your data",
                "write": "Change your data",
            },
            "DEFAULT_SCOPES": ["read"],
            "PKCE_REQUIRED": True,
            "ROTATE_REFRESH_TOKEN": True,
            "REFRESH_TOKEN_REUSE_PROTECTION": True,
            "ACCESS_TOKEN_EXPIRE_SECONDS": 600,
            "DEVICE_FLOW_INTERVAL": 1,
            "OAUTH_DEVICE_VERIFICATION_URI": f"{origin}/o/device/",
            # RFC 9207: `iss` on every authorization response (DOT 4.0 will default to it)
            "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
        },
    )


def _urls() -> None:
    """The URL module Django's ROOT_URLCONF names: DOT under /o/, Django's login page."""
    import types

    from django.contrib.auth import views as auth_views
    from django.urls import include, path

    module = types.ModuleType("urls")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
        path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    ]
    sys.modules["urls"] = module


def provision() -> dict[str, Any]:
    """One user, and an application per grant; secrets are fresh for every run."""
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_application_model

    app_model = get_application_model()
    password = secrets.token_urlsafe(12)
    get_user_model().objects.create_user("alice", password=password)
    apps: dict[str, dict[str, str]] = {}

    def add(
        key: str, client_type: str, grant: str, algorithm: str = app_model.RS256_ALGORITHM, **extra: Any
    ) -> None:
        secret = secrets.token_urlsafe(24) if client_type == app_model.CLIENT_CONFIDENTIAL else ""
        app_model.objects.create(
            name=f"trayauth {key}",
            client_id=f"trayauth-{key}",
            client_secret=secret,
            client_type=client_type,
            authorization_grant_type=grant,
            algorithm=algorithm,
            **extra,
        )
        apps[key.removeprefix("test-")] = {"client_id": f"trayauth-{key}", "client_secret": secret}

    add("public", app_model.CLIENT_PUBLIC, app_model.GRANT_AUTHORIZATION_CODE, redirect_uris=LOOPBACK)
    add(
        "confidential",
        app_model.CLIENT_CONFIDENTIAL,
        app_model.GRANT_AUTHORIZATION_CODE,
        redirect_uris=LOOPBACK,
    )
    # ID tokens signed HS256 with the client secret (OpenID Connect Core §10.1), DOT's other kind.
    add(
        "confidential-hs256",
        app_model.CLIENT_CONFIDENTIAL,
        app_model.GRANT_AUTHORIZATION_CODE,
        algorithm=app_model.HS256_ALGORITHM,
        redirect_uris=LOOPBACK,
        hash_client_secret=False,  # the secret is the HMAC key: DOT keeps it in plain for HS256
    )
    add("machine", app_model.CLIENT_CONFIDENTIAL, app_model.GRANT_CLIENT_CREDENTIALS)
    add("password", app_model.CLIENT_PUBLIC, app_model.GRANT_PASSWORD)
    add("password-confidential", app_model.CLIENT_CONFIDENTIAL, app_model.GRANT_PASSWORD)
    add("device", app_model.CLIENT_PUBLIC, DEVICE_GRANT)
    # Reads tokens back at the introspection endpoint, so tests can ask the server what it thinks.
    add("test-inspector", app_model.CLIENT_CONFIDENTIAL, app_model.GRANT_CLIENT_CREDENTIALS)
    return {"user": {"username": "alice", "password": password}, "clients": apps}


def main() -> int:
    data_dir = Path(sys.argv[1])
    sys.path.insert(0, str(HERE))
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    server = ThreadedWSGIServer(("127.0.0.1", 0), WSGIRequestHandler, allow_reuse_address=False)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    configure(data_dir, origin)
    import django

    django.setup()
    _urls()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", verbosity=0, interactive=False)
    info = provision()
    server.set_app(get_wsgi_application())

    import oauth2_provider
    import oauthlib

    info.update(
        issuer=f"{origin}/o",
        origin=origin,
        versions={
            "django-oauth-toolkit": oauth2_provider.__version__,
            "oauthlib": oauthlib.__version__,
            "django": django.get_version(),
        },
    )
    print(json.dumps(info), flush=True)

    def stop(*_: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=lambda: (sys.stdin.read(), stop()), daemon=True).start()
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


if __name__ == "__main__":
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    sys.exit(main())
