"""The tray's words for errors: each next step as a sentence a GUI user can act on.

The layers below describe what to do next as data (``NextStep``); the CLI words it as a command
(``trayauth.cli.wording``), the tray here, without any command to type. Qt-free, so it is tested
without a display and the window code only places the text.
"""

from __future__ import annotations

import time

from trayauth.domain.errors import TrayauthError
from trayauth.domain.steps import NextStep, StepKind


def _and(items: tuple[str, ...]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


_CAPITALS = {"url": "URL", "id": "ID", "uri": "URI"}
_PLAIN = {"authorize_url": "authorization endpoint", "token_url": "token endpoint"}


def plain(key: str) -> str:
    """A setting's key as words ("client_id" is "client ID", "token_url" "token endpoint"): the
    tray never shows a config key, which only the CLI's ``--set`` needs."""
    if key in _PLAIN:
        return _PLAIN[key]
    if key.endswith("_url") and key != "base_url":
        return f"{plain(key[:-4])} endpoint"
    return " ".join(_CAPITALS.get(word, word) for word in key.split("_"))


def sentence(step: NextStep) -> str:
    """What to do next, as the tray says it."""
    kind, account = step.kind, step.account
    keys = tuple(plain(k) for k in step.keys)
    who = f"{account}'s" if account else "the account's"
    if kind is StepKind.LOG_IN:
        if keys:
            return f"Check {who} {_and(keys)}, then log in again."
        return "Log in again."
    if kind is StepKind.LOG_IN_SOONER:
        return "Log in again and finish signing in sooner."
    if kind is StepKind.SECRET_AT_LOGIN:
        return "Enter secrets in the login window; they are kept in the encrypted vault."
    if kind is StepKind.SET_SETTING:
        return f"Fill in {who} {_and(keys)} in the login window."
    if kind is StepKind.CHECK_PRESET:
        return "Check the account's settings and its provider."
    if kind is StepKind.CHECK_SETTING:
        if not keys:
            return "Check the setting."
        return f"Check {who} {_and(keys)}."
    if kind is StepKind.CHECK_PROVIDER:
        return "Check the account's server address; the provider may be down."
    if kind is StepKind.CHECK_NETWORK:
        return "Check the network connection and the account's server address; trayauth will retry."
    if kind is StepKind.CHECK_CLOCK:
        return "Check that this computer's clock is right."
    if kind is StepKind.USE_HTTPS:
        return "Use an https:// address; plain http is only for this computer."
    if kind is StepKind.WAIT:
        if step.until is not None:
            at = time.strftime("%H:%M", time.localtime(step.until))
            return f"The provider is rate limiting; try again after {at}."
        return "The provider is rate limiting; try again in a minute."
    if kind in (StepKind.RETRY, StepKind.STALE_LOCK):
        return "Try again in a moment."
    if kind is StepKind.FIX_FILE:
        return f"Fix or move {step.path or 'the file'} by hand; it was not changed."
    if kind in (StepKind.RESTORE_VAULT, StepKind.RESTORE_KEY):
        return "Restore the vault or its key from a backup, or move the vault aside and log in again."
    if kind in (StepKind.START_KEYRING, StepKind.UNLOCK_KEYRING):
        return "Unlock the system keyring, then try again."
    if kind in (StepKind.ALLOW_KEY_FILE, StepKind.CHOOSE_KEY_STORAGE):
        return "Fix the system keyring, or allow trayauth to keep its key in a file."
    if kind is StepKind.PICK_ACCOUNT:
        return f"Did you mean {account}?" if account else "Pick an account from the menu."
    if kind is StepKind.PICK_NAME:
        return "Pick another name."
    if kind is StepKind.PICK_PRESET:
        return "Pick a provider from the list."
    if kind is StepKind.PASTE_AGAIN:
        return "Check the key and paste it again."
    if kind is StepKind.PASTE_NEW:
        return "Get a fresh token from the provider, then choose “Paste a new token…”."
    if kind is StepKind.PASTE_REDIRECT:
        return "Paste the address the browser showed after you approved, or finish in the browser."
    if kind is StepKind.ALLOW_IN_TRAY:
        return "Ask again and choose Allow, or turn off “Ask before handing out” in Settings."
    if kind is StepKind.CONSENT_NEEDS_DESKTOP:
        return "Run the tray on a desktop, or turn off “Ask before handing out” for this account."
    if kind is StepKind.ANSWER_IN_TRAY:
        return "Answer the tray's question when it appears."
    if kind is StepKind.START_TRAY:
        return "Start the tray, then try again."
    if kind is StepKind.RETRY_LATER:
        return "The provider is too slow or stuck; try again later."
    if kind is StepKind.PASTE_ALONE:
        return "Paste the token alone."
    if kind is StepKind.MOVE_ASIDE:
        return f"Move {step.path or 'it'} aside (or delete it) and start again."
    if kind is StepKind.OWN_FOLDER:
        return "Use a config folder of your own, or move this one aside."
    if kind is StepKind.MAKE_PRIVATE:
        return (
            f"Make {step.path or 'the file'} readable by you alone, or move the vault aside and log in again."
        )
    if kind is StepKind.FIX_MODE:
        return f"Make {step.path or 'the file'} writable by you alone, after checking its content is yours."
    if kind is StepKind.FREE_DISK:
        return "Free some disk space; trayauth will retry."
    if kind is StepKind.MAKE_WRITABLE:
        return "Make the config folder writable; trayauth will retry."
    if kind is StepKind.FIX_OWNERSHIP:
        return "Make the config folder and its files yours and writable; trayauth will retry."
    if kind is StepKind.REMOVE_LINK:
        return "Delete the symbolic link (trayauth makes a new lock file); trayauth will retry."
    if kind is StepKind.CHECK_DISK:
        return "Check the disk and the config folder; trayauth will retry."
    if kind is StepKind.SHOW_USAGE:
        return "Check how the command was called."
    if kind is StepKind.CHOOSE_ONE:
        return f"Use one of: {', '.join(keys)}." if keys else "Use one of the values offered."
    raise AssertionError(f"no tray wording for {kind}")  # pragma: no cover - every kind is above


def is_pasted(step: NextStep | None) -> bool:
    """Whether ``step`` is about a pasted token, so the answer is pasting one, never logging in."""
    return step is not None and step.kind is StepKind.PASTE_NEW


def again(step: NextStep | None) -> str:
    """What a notification's title asks for when an account needs the user: "paste a new token"
    for a pasted one, else "log in again"."""
    return "paste a new token" if is_pasted(step) else "log in again"


def text_of(message: str, step: NextStep | None) -> str:
    """The message, then what to do, as one text for a notification or an inline error."""
    return f"{message}. {sentence(step)}" if step is not None else message


def text(exc: TrayauthError) -> str:
    return text_of(exc.message, exc.next_step)
