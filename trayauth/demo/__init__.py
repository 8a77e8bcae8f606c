"""A local provider server that speaks every supported vendor's token API, over real HTTP.

The test suite runs against it, and ``trayauth demo`` starts it so anyone can try trayauth with
no real account. It binds 127.0.0.1 on a port the OS picks and needs only the stdlib, ``pyjwt``
and ``cryptography``. Run it by hand with ``python -m trayauth.demo [--port N]``.

Usage::

    with ProviderServer() as srv:                 # or srv.start() ... srv.stop()
        srv.base_url("sentiance")                 # f"{srv.url}/sentiance"
        srv.inject("senseye", "oauth/token", {"status": 503, "headers": {"Retry-After": "2"}})
        srv.count("sentiance", "auth/token"); srv.check("sentiance", token)

Vendors and their endpoints (``inject``/``count`` take the endpoint *name*; the path below the
vendor prefix works too). ``base`` is ``srv.base_url(vendor)``.

============  ==================================  ==========================================
vendor        endpoint name                       request
============  ==================================  ==========================================
sentiance     auth/local                          POST JSON {username, password}
sentiance     auth/token                          POST JSON grant_type code | refresh_token
senseye       oauth/token                         POST form grant_type=password (rate limited)
sensos        v1/applications/token               POST JSON {tenantId, applicationId, ...}
attentive     v1/me                               GET, Bearer API key (or OAuth token)
attentive     oauth-install                       GET ui/integrations/oauth-install?... -> 302
attentive     v1/authorization-codes/tokens       POST form grant_type=authorization_code
amino         api/auth/v1/access_tokens           POST JSON (or form) login | refresh_token
oauth         openid-configuration                GET .well-known/openid-configuration
oauth         authorize                           GET -> 302 with code (PKCE S256)
oauth         token                               POST form: all grants incl. device_code
oauth         device_authorization                POST form client_id, scope
oauth         device                              GET/POST the page where a user enters the code
oauth         userinfo                            GET Bearer
oauth         revoke                              POST form token (RFC 7009)
every vendor  whoami                              GET Bearer -> {"ok": true, "sub": ...} or 401
============  ==================================  ==========================================

Demo credentials (fake, safe to show; ``srv.users`` returns them as a dict):

- sentiance: ``demo@sentiance.test`` / ``demo-password``
- senseye: ``demo@senseye.test`` / ``demo-password``
- sensos: tenant ``demo-tenant``, application ``demo-application``, secret ``demo-application-secret``
- attentive: API key ``demo-attentive-api-key``; OAuth app ``demo-attentive-app`` with secret
  ``demo-attentive-client-secret``; ``demo-attentive-denied`` is an app the "user" always refuses
- amino: ``demo@amino.test`` / ``demo-password``
- oauth: user ``demo`` / ``demo-password``; public client ``trayauth-public`` (no secret, PKCE
  required); confidential client ``trayauth-confidential`` with secret ``demo-client-secret``;
  ``trayauth-denied`` is refused at the approval step. Demo clients accept any redirect URI on
  ``http://127.0.0.1:<any port>`` or ``http://[::1]:<any port>`` (RFC 8252 §7.3), never localhost.

Server behaviour tests rely on: refresh tokens rotate and a replayed spent one revokes its whole
family (``revoked_families`` counts those, plus replayed authorization codes); ``refreshes``
counts successful refresh grants; every lifetime and code expiry runs on ``srv.now()`` =
``clock() + clock_offset``. Faults are listed in :mod:`trayauth.demo.faults`; knobs beyond
the setters are on ``srv.settings`` (:class:`trayauth.demo.context.Settings`).
"""

from __future__ import annotations

from trayauth.demo.server import ProviderServer

__all__ = ["ProviderServer"]
