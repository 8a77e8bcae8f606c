"""A real headless Chromium (Debian's, through Playwright) that signs in on the servers' own pages.

Playwright's synchronous API keeps an event loop marked as running on the thread that uses it,
which would break every ``asyncio.run`` after it on that thread (the CLI's, other tests'). So
the browser lives on a thread of its own, and tests hand it a "visit": a URL and the steps to take
there. Every request of a visit is logged; requests that would leave the machine are aborted (no
test may depend on the internet) and listed, so a test can say which page made them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request, Response, Route

T = TypeVar("T")

STEP_TIMEOUT_MS = 30_000  # one page action; a deadline against hangs, not a measurement
VISIT_DEADLINE = 120.0
LOOPBACK_HOSTS = {"127.0.0.1"}


def chromium_path() -> str | None:
    """Debian's chromium (no browser is downloaded): $TRAYAUTH_CHROMIUM, else the PATH's."""
    given = os.environ.get("TRAYAUTH_CHROMIUM")
    if given:
        return given if os.access(given, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True)
class Seen:
    url: str
    resource_type: str
    method: str


@dataclass
class RequestLog:
    """Every request the browser made during a visit, in order, and those that were stopped."""

    requests: list[Seen] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    documents: dict[str, dict[str, str]] = field(default_factory=dict)  # page URL -> response headers

    def route(self, route: Route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if urlsplit(url).scheme in {"http", "https"} and host not in LOOPBACK_HOSTS:
            self.blocked.append(url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    def seen(self, request: Request) -> None:
        self.requests.append(Seen(request.url, request.resource_type, request.method))

    def answered(self, response: Response) -> None:
        if response.request.resource_type == "document":
            self.documents[response.url] = dict(response.headers)

    def after(self, prefix: str) -> list[Seen]:
        """The requests from the first one whose URL starts with ``prefix`` on (that one excluded)."""
        for i, seen in enumerate(self.requests):
            if seen.url.startswith(prefix):
                return self.requests[i + 1 :]
        raise AssertionError(f"the browser never requested {prefix}: {[s.url for s in self.requests]}")


@dataclass
class Visit(Generic[T]):
    result: T
    log: RequestLog
    final_url: str


class VisitFailed(AssertionError):
    pass


class Browser:
    """One Chromium for the session; each visit gets a fresh context (no cookies carried over)."""

    def __init__(self, executable: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._playwright: Any = None
        self._browser: Any = None
        self.version = ""
        self._pool.submit(self._start, executable).result(timeout=VISIT_DEADLINE)

    def _start(self, executable: str) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path=executable, headless=True)
        self.version = str(self._browser.version)

    def visit(self, url: str, steps: Callable[[Page], T]) -> Visit[T]:
        return self._pool.submit(self._visit, url, steps).result(timeout=VISIT_DEADLINE)

    def _visit(self, url: str, steps: Callable[[Page], T]) -> Visit[T]:
        log = RequestLog()
        context = self._browser.new_context(viewport={"width": 800, "height": 600})
        try:
            context.route("**/*", log.route)
            context.on("request", log.seen)
            context.on("response", log.answered)
            page = context.new_page()
            page.set_default_timeout(STEP_TIMEOUT_MS)
            page.goto(url)
            try:
                result = steps(page)
            except Exception as exc:
                raise VisitFailed(f"{exc}\n-- at {page.url}:\n{_text(page)}") from exc
            return Visit(result, log, page.url)
        finally:
            context.close()

    def close(self) -> None:
        def stop() -> None:
            if self._browser is not None:
                self._browser.close()
            if self._playwright is not None:
                self._playwright.stop()

        try:
            self._pool.submit(stop).result(timeout=VISIT_DEADLINE)
        finally:
            self._pool.shutdown(wait=True)


def _text(page: Page) -> str:
    try:
        return str(page.inner_text("body"))[:2000]
    except Exception as exc:  # the page may be gone; the original error is what matters
        return f"(no page text: {exc})"


def wait_for_loopback(page: Page, redirect_uri: str) -> str:
    """Wait until the browser lands on trayauth's loopback page; its visible text."""
    page.wait_for_url(lambda u: u.startswith(redirect_uri), wait_until="load")
    page.wait_for_load_state("networkidle")
    return str(page.inner_text("body"))
