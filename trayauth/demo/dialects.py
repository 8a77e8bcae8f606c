"""The quirks of the OAuth providers trayauth has presets for, as data the demo server speaks.

Every dialect is the same demo identity provider (its users, clients, codes and tokens are the
``oauth`` vendor's) behind another front door: its own URL prefix, paths, issuer and the
behaviours its public documentation describes. A preset that works against a dialect here sends
what that provider asks for; what a dialect cannot prove (the real consent screens, tenant
policies) is for tests against the real servers.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Dialect:
    vendor: str  # the URL prefix: {server}/{vendor}/...
    # Paths below the prefix; None: the provider has no such endpoint.
    issuer_path: str = ""
    discovery: str | None = ".well-known/openid-configuration"
    authorize: str = "authorize"
    token: str = "token"
    revoke: str | None = "revoke"
    device: str | None = "device_authorization"
    device_page: str = "device"
    userinfo: str | None = "userinfo"
    jwks: str | None = "jwks"
    issuer_slash: bool = False  # Auth0's issuer ends in "/"
    iss_parameter: bool = True  # RFC 9207 ``iss`` in every authorization response
    # None: any scope is accepted; else the scopes discovery lists, and the others are refused.
    scopes: tuple[str, ...] | None = ("openid", "profile", "email", "offline_access", "api")
    # How a login earns a refresh token:
    #   "consent"       every grant gets one, except that offline_access asked without
    #                   prompt=consent is dropped and then none comes (oidc-provider's default)
    #   "always"        every grant gets one (GitLab, Keycloak)
    #   "offline_scope" only with offline_access granted (Entra ID, Auth0, Okta)
    #   "access_type"   only with access_type=offline, and then on the first consent of a
    #                   user and client or with prompt=consent (Google)
    #   "expiring"      only when the app has expiring user tokens on (GitHub), see Settings
    refresh: str = "always"
    rotate: bool = True  # a refresh spends the refresh token and answers with a new one
    revoke_access_tokens: bool = True  # False: unsupported_token_type for access tokens (Auth0)
    secret_required: bool = False  # the token endpoint wants a client secret even with PKCE (Google)
    github_wire: bool = False  # errors as 200, form-encoded answers unless Accept: application/json
    extra_discovery: dict[str, object] = field(default_factory=dict)


GENERIC = Dialect("oauth", refresh="consent")

DIALECTS: dict[str, Dialect] = {
    d.vendor: d
    for d in (
        GENERIC,
        Dialect(
            "github",
            discovery=None,
            authorize="login/oauth/authorize",
            token="login/oauth/access_token",
            revoke=None,
            device="login/device/code",
            device_page="login/device",
            userinfo=None,
            jwks=None,
            iss_parameter=False,
            scopes=None,
            refresh="expiring",
            github_wire=True,
        ),
        Dialect(
            "google",
            authorize="o/oauth2/v2/auth",
            token="token",
            revoke="revoke",
            device="device/code",
            userinfo="v1/userinfo",
            jwks="oauth2/v3/certs",
            iss_parameter=False,
            scopes=("openid", "email", "profile", "api"),
            refresh="access_type",
            rotate=False,
            secret_required=True,
        ),
        Dialect(
            "microsoft",
            issuer_path="demo-tenant/v2.0",
            discovery="demo-tenant/v2.0/.well-known/openid-configuration",
            authorize="demo-tenant/oauth2/v2.0/authorize",
            token="demo-tenant/oauth2/v2.0/token",
            revoke=None,
            device="demo-tenant/oauth2/v2.0/devicecode",
            device_page="devicelogin",
            userinfo="oidc/userinfo",
            jwks="demo-tenant/discovery/v2.0/keys",
            iss_parameter=False,
            scopes=None,
            refresh="offline_scope",
        ),
        Dialect(
            "gitlab",
            authorize="oauth/authorize",
            token="oauth/token",
            revoke="oauth/revoke",
            device="oauth/authorize_device",
            device_page="oauth/device",
            userinfo="oauth/userinfo",
            jwks="oauth/discovery/keys",
            iss_parameter=False,
            scopes=("api", "read_api", "read_user", "openid", "profile", "email"),
        ),
        Dialect(
            "auth0",
            authorize="authorize",
            token="oauth/token",
            revoke="oauth/revoke",
            device="oauth/device/code",
            device_page="activate",
            userinfo="userinfo",
            jwks=".well-known/jwks.json",
            issuer_slash=True,
            iss_parameter=False,
            scopes=("openid", "profile", "email", "offline_access", "api"),
            refresh="offline_scope",
            revoke_access_tokens=False,
        ),
        Dialect(
            "okta",
            issuer_path="oauth2/default",
            discovery="oauth2/default/.well-known/openid-configuration",
            authorize="oauth2/default/v1/authorize",
            token="oauth2/default/v1/token",
            revoke="oauth2/default/v1/revoke",
            device="oauth2/default/v1/device/authorize",
            device_page="activate",
            userinfo="oauth2/default/v1/userinfo",
            jwks="oauth2/default/v1/keys",
            iss_parameter=False,
            scopes=("openid", "profile", "email", "offline_access", "api"),
            refresh="offline_scope",
        ),
        Dialect(
            "keycloak",
            issuer_path="realms/demo",
            discovery="realms/demo/.well-known/openid-configuration",
            authorize="realms/demo/protocol/openid-connect/auth",
            token="realms/demo/protocol/openid-connect/token",
            revoke="realms/demo/protocol/openid-connect/revoke",
            device="realms/demo/protocol/openid-connect/auth/device",
            device_page="realms/demo/device",
            userinfo="realms/demo/protocol/openid-connect/userinfo",
            jwks="realms/demo/protocol/openid-connect/certs",
            iss_parameter=True,
            scopes=("openid", "profile", "email", "offline_access", "api"),
        ),
    )
}
