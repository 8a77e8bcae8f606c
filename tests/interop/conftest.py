"""Fixtures of the interop suite: real OAuth servers and a real browser, one of each per session.

oidc-provider (node) and django-oauth-toolkit (Django) start once, on ephemeral 127.0.0.1 ports;
tests keep apart by their clients' fresh logins (and each test's own trayauth config dir from the
``isolated`` fixture). Missing tools skip locally and fail in CI (see ``servers.missing``).
"""

from __future__ import annotations

import gc
import importlib.util
from collections.abc import Iterator

import pytest

from tests.interop.browser import Browser, chromium_path
from tests.interop.servers import Server, missing, start_django_oauth_toolkit, start_oidc_provider


def _collect_on_main_thread() -> None:
    """Collect earlier tests' garbage here, on the main thread, before this suite's threads run.

    A cyclic collection runs on whichever thread happens to allocate. Qt objects that the GUI
    tests left in reference cycles must not be freed on the browser's thread or a stderr reader:
    Qt cannot unregister their timers from there, and the next event pass crashes (a segfault
    in pytest-qt's processEvents, seen after the hardening and integration suites).
    """
    gc.collect()


@pytest.fixture(scope="session", autouse=True)
def _clean_heap_before_servers() -> None:
    _collect_on_main_thread()  # autouse: before the session's servers and browser start


@pytest.fixture(autouse=True)
def _clean_heap_before_each_test() -> None:
    _collect_on_main_thread()


@pytest.fixture(scope="session")
def oidc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_oidc_provider(tmp_path_factory.mktemp("oidc-provider") / "server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("django-oauth-toolkit")
    server = start_django_oauth_toolkit(data, data / "server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if importlib.util.find_spec("playwright") is None:
        missing("playwright", "pip install -e '.[interop]'")
    executable = chromium_path()
    if executable is None:
        missing("chromium", "apt-get install chromium; never 'playwright install'")
    chromium = Browser(executable)
    try:
        yield chromium
    finally:
        chromium.close()
