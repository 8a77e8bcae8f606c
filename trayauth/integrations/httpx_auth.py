"""``httpx.Auth`` for a trayauth account, sync and async.

    client = httpx.Client(auth=TrayauthAuth("work"))          # or httpx.AsyncClient(...)

The token comes the fast way (the tray's agent, else the core), is reused while it is fresh, and
is fetched again once inside the renewal margin. When the server answers 401 the token is
renewed once (unless another caller already did) and the request is sent once more; a second
401 is the caller's to see.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator

import anyio.to_thread
import httpx

from trayauth.integrations.cache import TokenCache
from trayauth.integrations.source import Grant


class TrayauthAuth(httpx.Auth):
    requires_request_body = True  # so the one retry after a 401 can send the body again

    def __init__(
        self,
        account: str,
        *,
        fetch: Callable[[str, str | None], Grant] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account = account
        self._cache = TokenCache(account, fetch, clock)
        self._lock = threading.Lock()

    def _authorize(self, request: httpx.Request, grant: Grant) -> None:
        request.headers["Authorization"] = self._cache.header(grant)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            grant = self._cache.get()
        self._authorize(request, grant)
        response = yield request
        if response.status_code != 401:
            return
        response.read()
        with self._lock:
            grant = self._cache.renew(grant)
        self._authorize(request, grant)
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:

        # The agent call and the core both block (a socket, a file lock): off the event loop.
        grant = await anyio.to_thread.run_sync(self._locked_get)
        self._authorize(request, grant)
        response = yield request
        if response.status_code != 401:
            return
        await response.aread()
        grant = await anyio.to_thread.run_sync(self._locked_renew, grant)
        self._authorize(request, grant)
        yield request

    def _locked_get(self) -> Grant:
        with self._lock:
            return self._cache.get()

    def _locked_renew(self, refused: Grant) -> Grant:
        with self._lock:
            return self._cache.renew(refused)
