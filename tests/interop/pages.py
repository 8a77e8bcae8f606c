"""What a person does on each server's own sign-in pages, as Playwright steps.

oidc-provider's development interactions (its stock login and consent pages; any login name and
password sign in) and django-oauth-toolkit's authorize and device pages behind Django's stock
login form. The selectors are the servers' own markup, read from their sources.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from tests.interop.browser import wait_for_loopback

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

Steps = Callable[["Page"], str]


# ---- oidc-provider ---------------------------------------------------------------------------


def _oidc_login(page: Page, user: str) -> None:
    page.fill("input[name=login]", user)
    page.fill("input[name=password]", "any password signs in here")
    page.click("button[type=submit]")


def _oidc_consent(page: Page) -> str:
    """The consent page's text (what it says it will grant); 'Continue' is clicked by the caller."""
    page.wait_for_selector("input[name=prompt][value=consent]", state="attached")
    return str(page.inner_text("body"))


Tamper = dict[str, str | None]  # parameters of the provider's answer to replace (None: drop)


def land(page: Page, redirect_uri: str, click: str, tamper: Tamper | None = None) -> str:
    """Click what sends the browser to the loopback; the loopback page's text.

    With ``tamper``, the provider's redirects are followed by hand (Playwright does not route a
    redirect's later hops) until one points at the loopback, and its parameters are changed
    before the browser goes there: what a mix-up attacker's answer would look like to trayauth.
    """
    if not tamper:
        page.click(click)
        return wait_for_loopback(page, redirect_uri)
    answers: list[str] = []

    def provider(url: str) -> bool:
        return not url.startswith(redirect_uri)

    def follow(route: Route) -> None:
        url, response = route.request.url, route.fetch(max_redirects=0)
        while 300 <= response.status < 400 and "location" in response.headers:
            url = urljoin(url, response.headers["location"])
            if not provider(url):
                answers.append(url)
                route.fulfill(status=200, content_type="text/plain", body="answer caught")
                return
            response = page.request.get(url, max_redirects=0)
        route.fulfill(response=response)

    page.route(provider, follow)
    page.click(click)
    for _ in range(600):  # a deadline of 30 s against a hang, not a measurement
        if answers:
            break
        page.wait_for_timeout(50)
    page.unroute(provider)
    assert answers, "the provider never redirected to the loopback"
    parts = urlsplit(answers[0])
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    params.update(tamper)
    query = urlencode({k: v for k, v in params.items() if v is not None})
    page.goto(urlunsplit(parts._replace(query=query)))
    return wait_for_loopback(page, redirect_uri)


def oidc_sign_in(
    redirect_uri: str,
    *,
    user: str = "alice",
    consents: list[str] | None = None,
    tamper: Tamper | None = None,
) -> Steps:
    """Log in, consent, land on the loopback page; its text. The consent page's text goes to ``consents``."""

    def steps(page: Page) -> str:
        _oidc_login(page, user)
        said = _oidc_consent(page)
        if consents is not None:
            consents.append(said)
        return land(page, redirect_uri, "button[type=submit]", tamper)

    return steps


def oidc_cancel(redirect_uri: str) -> Steps:
    """Press '[ Cancel ]' on the login page, which aborts the interaction."""

    def steps(page: Page) -> str:
        page.wait_for_selector("input[name=login]")
        page.click("text=[ Cancel ]")
        return wait_for_loopback(page, redirect_uri)

    return steps


def oidc_device(user_code: str, *, user: str = "alice", abort: bool = False) -> Steps:
    """On the verification page: enter the code if asked, confirm (or abort), log in, consent."""

    def steps(page: Page) -> str:
        if not page.locator("text=Confirm Device").count():  # no verification_uri_complete
            page.fill("input[name=user_code]:visible", user_code)
            page.click("button[type=submit]")
        page.wait_for_selector("text=Confirm Device")
        assert user_code in page.inner_text("body"), "the confirmation page shows another code"
        if abort:
            page.click("button[name=abort]")
            page.wait_for_load_state()
            return str(page.inner_text("body"))
        page.click("button[autofocus]")
        _oidc_login(page, user)
        _oidc_consent(page)
        page.click("button[type=submit]")
        page.wait_for_selector("text=Sign-in Success")
        return str(page.inner_text("body"))

    return steps


# ---- django-oauth-toolkit --------------------------------------------------------------------


def _django_login(page: Page, user: dict[str, str]) -> None:
    page.wait_for_selector("input[name=username]")
    page.fill("input[name=username]", user["username"])
    page.fill("input[name=password]", user["password"])
    page.click("button[type=submit]")


def dot_sign_in(
    redirect_uri: str, user: dict[str, str], *, allow: bool = True, tamper: Tamper | None = None
) -> Steps:
    """Django's login form, then DOT's 'Authorize' (or 'Cancel'); the loopback page's text."""

    def steps(page: Page) -> str:
        _django_login(page, user)
        page.wait_for_selector("#authorizationForm")
        return land(
            page, redirect_uri, "input[name=allow]" if allow else "input[type=submit][value=Cancel]", tamper
        )

    return steps


def dot_refused(redirect_uri: str, user: dict[str, str]) -> Steps:
    """Django's login form, after which DOT refuses the request itself and redirects back."""

    def steps(page: Page) -> str:
        _django_login(page, user)
        return wait_for_loopback(page, redirect_uri)

    return steps


def dot_device(user_code: str, user: dict[str, str], *, accept: bool = True) -> Steps:
    """Log in, enter the code, then 'Accept' (or 'Deny') on DOT's device page."""

    def steps(page: Page) -> str:
        _django_login(page, user)
        page.wait_for_selector("input[name=user_code]")
        page.fill("input[name=user_code]", user_code)
        page.click("button[type=submit]")
        page.click(f"button[name=action][value={'accept' if accept else 'deny'}]")
        page.wait_for_load_state()
        return str(page.inner_text("body"))

    return steps
