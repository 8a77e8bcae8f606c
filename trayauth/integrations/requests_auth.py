"""``requests.auth.AuthBase`` for a trayauth account (``pip install 'trayauth[requests]'``).

    requests.get(url, auth=TrayauthRequestsAuth("work"))

Same rules as the httpx adapter: the token the fast way, reused while fresh; on a 401 renewed
once and the request sent once more (through the same connection adapter, as requests' own
digest auth does). A request whose body is a stream or generator cannot be sent twice: its 401
is returned as it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

try:
    import requests
    from requests.auth import AuthBase
except ModuleNotFoundError as exc:  # an optional extra: say how to get it
    raise ModuleNotFoundError(
        "trayauth's requests adapter needs requests: pip install 'trayauth[requests]'", name=exc.name
    ) from None

from trayauth.integrations.cache import TokenCache
from trayauth.integrations.source import Grant

_RETRIED = "_trayauth_retried"


class TrayauthRequestsAuth(AuthBase):
    def __init__(self, account: str, *, fetch: Callable[[str, str | None], Grant] | None = None) -> None:
        self.account = account
        self._cache = TokenCache(account, fetch)
        self._lock = threading.Lock()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self._lock:
            grant = self._cache.get()
        request.headers["Authorization"] = self._cache.header(grant)
        request.register_hook("response", self._on_response)
        setattr(request, "_trayauth_grant", grant)  # noqa: B010 - requests has no place for it
        return request

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        request = response.request
        if response.status_code != 401 or getattr(request, _RETRIED, False):
            return response
        body = request.body
        if body is not None and not isinstance(body, bytes | str):
            return response  # a stream was consumed by the first attempt
        refused = getattr(request, "_trayauth_grant", None)
        if not isinstance(refused, Grant):
            return response
        with self._lock:
            grant = self._cache.renew(refused)
        response.content  # noqa: B018 - drain, so the connection can be reused
        response.close()
        retry = request.copy()
        retry.headers["Authorization"] = self._cache.header(grant)
        setattr(retry, _RETRIED, True)
        setattr(retry, "_trayauth_grant", grant)  # noqa: B010
        assert response.connection is not None
        again: requests.Response = response.connection.send(retry, **kwargs)
        again.history.append(response)
        again.request = retry
        return again
