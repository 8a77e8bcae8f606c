"""What a person does on each server's own sign-in pages, as Playwright steps.

oidc-provider's development interactions (its stock login and consent pages; any login name and
password sign in) and django-oauth-toolkit's authorize and device pages behind Django's stock
login form. The selectors are the servers' own markup, read from their sources.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.interop.browser import wait_for_loopback

if TYPE_CHECKING:
    from playwright.sync_api import Page

Steps = Callable[["Page"], str]


# ---- oidc-provider ---------------------------------------------------------------------------


def _oidc_login(page: Page, user: str) -> None:
    page.fill("input[name=login]", user)
    page.fill("input[name=password]", "any password signs in here")
    page.click("button[type=submit]")


def _oidc_consent(page: Page) -> str:
    """Click 'Continue' on the consent page; its text (what it said it would grant)."""
    page.wait_for_selector("input[name=prompt][value=consent]", state="attached")
    text = str(page.inner_text("body"))
    page.click("button[type=submit]")
    return text


def oidc_sign_in(redirect_uri: str, *, user: str = "alice", consents: list[str] | None = None) -> Steps:
    """Log in, consent, land on the loopback page; its text. The consent page's text goes to ``consents``."""

    def steps(page: Page) -> str:
        _oidc_login(page, user)
        said = _oidc_consent(page)
        if consents is not None:
            consents.append(said)
        return wait_for_loopback(page, redirect_uri)

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
        page.wait_for_selector("text=Sign-in Success")
        return str(page.inner_text("body"))

    return steps


# ---- django-oauth-toolkit --------------------------------------------------------------------


def _django_login(page: Page, user: dict[str, str]) -> None:
    page.wait_for_selector("input[name=username]")
    page.fill("input[name=username]", user["username"])
    page.fill("input[name=password]", user["password"])
    page.click("button[type=submit]")


def dot_sign_in(redirect_uri: str, user: dict[str, str], *, allow: bool = True) -> Steps:
    """Django's login form, then DOT's 'Authorize' (or 'Cancel'); the loopback page's text."""

    def steps(page: Page) -> str:
        _django_login(page, user)
        page.wait_for_selector("#authorizationForm")
        page.click("input[name=allow]" if allow else "input[type=submit][value=Cancel]")
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
