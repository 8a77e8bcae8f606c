"""The page trayauth's loopback redirect shows in a real Chromium, looked at pixel by pixel.

After signing in on oidc-provider's pages the browser lands on 127.0.0.1; the test screenshots
that page and reads the picture (the green tick or the red cross, dark text on a light page), its
text and headers, and the browser's request log: once the answer arrived, nothing else was
fetched, from the machine or beyond it. The provider's own pages do reach out (they import a
web font), which shows the log would have caught it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.interop import pages
from tests.interop.browser import Browser, Visit
from tests.interop.cli import LoginRun, add, ok, one_line_error, query
from tests.interop.png import Image, decode
from tests.interop.servers import Server
from tests.support.cli import Result

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.interop

GREEN = (0x2E, 0x7D, 0x32)  # the page's "ok" mark
RED = (0xC6, 0x28, 0x28)  # its "error" mark
INK = (0, 0, 0)  # CanvasText on a light page
MARK_PIXELS = 40  # a 3rem glyph covers hundreds; antialiasing blurs its edges


def _sign_in_and_look(
    oidc: Server, browser: Browser, steps_for: Callable[[str], pages.Steps], shot: Path
) -> tuple[Visit[tuple[str, str]], str, Image, Result]:
    add("op", "oauth2", issuer=oidc.issuer, client_id=oidc.client("public")["client_id"], scopes="openid")
    with LoginRun("op") as run:
        url = run.authorization_url()
        redirect = query(url)["redirect_uri"]
        sign_in = steps_for(redirect)

        def steps(page: Page) -> tuple[str, str]:
            text = sign_in(page)
            page.screenshot(path=str(shot))
            return text, str(page.title())

        visit = browser.visit(url, steps)
        said = run.finish()
    return visit, redirect, decode(shot.read_bytes()), said


def _self_contained(visit: Visit[tuple[str, str]], redirect: str) -> None:
    """The loopback page fetched nothing; its headers forbid fetching and leaking the URL."""
    later = visit.log.after(redirect)
    assert later == [], f"the loopback page made requests: {later}"
    headers = next(h for url, h in visit.log.documents.items() if url.startswith(redirect))
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    # The detector works: oidc-provider's login page imports a web font, and it was stopped.
    assert any(urlsplit(u).hostname == "fonts.googleapis.com" for u in visit.log.blocked)


def test_signed_in_page(isolated: Path, oidc: Server, browser: Browser, tmp_path: Path) -> None:
    shot = tmp_path / "loopback-signed-in.png"
    visit, redirect, image, said = _sign_in_and_look(oidc, browser, pages.oidc_sign_in, shot)
    assert "logged in op" in ok(said).err
    text, title = visit.result
    assert title == "trayauth: Signed in"
    assert "Signed in" in text and "trayauth received the sign-in for op." in text
    assert "You may close this tab." in text
    assert visit.final_url.startswith(redirect) and "code=" in visit.final_url
    _self_contained(visit, redirect)

    assert (image.width, image.height) == (800, 600)
    assert sum(image.background()) > 600, "the page is not light"
    assert image.count(GREEN) > MARK_PIXELS, "no green tick on the page"
    assert image.count(RED) == 0
    assert image.count(INK, tolerance=60) > 200, "no dark text on the page"


def test_cancelled_page(isolated: Path, oidc: Server, browser: Browser, tmp_path: Path) -> None:
    shot = tmp_path / "loopback-cancelled.png"
    visit, redirect, image, said = _sign_in_and_look(oidc, browser, pages.oidc_cancel, shot)
    assert "refused in the browser" in one_line_error(said)
    text, title = visit.result
    assert title == "trayauth: Sign-in failed"
    assert "access_denied" in text and "You may close this tab and try again." in text
    _self_contained(visit, redirect)
    assert image.count(RED) > MARK_PIXELS, "no red cross on the page"
    assert image.count(GREEN) == 0
