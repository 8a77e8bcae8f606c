"""One account's token, kept in memory by the Python adapters between requests.

Fetching costs a socket round trip (or a vault read), so a token is reused until it is inside
the renewal margin, as the tray itself would renew it. After a 401 :meth:`renew` asks for a new
token, naming the refused one so that it is renewed at most once however many requests saw it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

from trayauth.client import token_digest
from trayauth.domain.text import authorization
from trayauth.integrations.source import Grant, get_token

MAX_MARGIN = 60.0
MARGIN_FRACTION = 0.10


class TokenCache:
    def __init__(
        self,
        account: str,
        fetch: Callable[[str, str | None], Grant] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account = account
        self.fetch = fetch or get_token
        self.clock = clock
        self._grant: Grant | None = None
        self._fresh_until = 0.0

    def get(self) -> Grant:
        now = self.clock()
        if self._grant is not None and now < self._fresh_until:
            return self._grant
        return self._keep(self.fetch(self.account, None))

    def renew(self, refused: Grant) -> Grant:

        kept = self._grant
        if kept is not None and kept.token != refused.token and self.clock() < self._fresh_until:
            return kept  # someone renewed while this request was out
        return self._keep(self.fetch(self.account, token_digest(refused.token)))

    def _keep(self, grant: Grant) -> Grant:
        now = self.clock()
        if grant.warning:
            warnings.warn(grant.warning, RuntimeWarning, stacklevel=4)
        self._grant = grant
        if grant.expires_at is None:
            self._fresh_until = now + 300.0  # re-ask now and then: the account may have changed
        else:
            margin = min(MAX_MARGIN, MARGIN_FRACTION * max(0.0, grant.expires_at - now))
            self._fresh_until = grant.expires_at - margin
        return grant

    @staticmethod
    def header(grant: Grant) -> str:
        return authorization(grant.token, grant.token_type)
