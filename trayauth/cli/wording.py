"""The CLI's words for errors: each next step as a command to type.

The layers below the CLI describe what to do next as data (``NextStep``); this is the one place
that turns it into ``run 'trayauth login work'``. The tray words the same steps as sentences
(``trayauth.ui.wording``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from trayauth.domain.errors import TrayauthError
from trayauth.domain.notices import renewal_warning
from trayauth.domain.steps import NextStep, StepKind

KEY_STORAGE_ENV = "TRAYAUTH_KEY_STORAGE"  # the default when a step names no variable
USAGES = {"exec": "trayauth exec NAME -- COMMAND [ARG]..."}  # SHOW_USAGE's line, by command


def _and(items: tuple[str, ...]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _login(account: str | None) -> str:
    return f"run 'trayauth login {account or 'NAME'}'"


def command(step: NextStep) -> str:
    """What to do next, in the CLI's words."""
    kind, account, keys = step.kind, step.account, step.keys
    env = keys[0] if keys else KEY_STORAGE_ENV
    if kind is StepKind.LOG_IN:
        if keys:
            return f"check the account's {_and(keys)}, then {_login(account)}"
        return _login(account)
    if kind is StepKind.LOG_IN_SOONER:
        if account:
            return f"{_login(account)} again and finish signing in sooner"
        return "run the login again and finish it in the browser sooner"
    if kind is StepKind.SECRET_AT_LOGIN:
        return f"secrets are kept in the encrypted vault: 'trayauth login {account}' asks for them"
    if kind is StepKind.SET_SETTING:
        sets = " ".join(f"--set {k}=…" for k in keys)
        return f"remove and re-add it with 'trayauth add {account} {step.preset} {sets}'"
    if kind is StepKind.CHECK_PRESET:
        return "check the account's settings and its preset"
    if kind is StepKind.CHECK_SETTING:
        if not keys:
            return "check the setting"
        return f"check the account's {_and(keys)} setting{'s' if len(keys) > 1 else ''}"
    if kind is StepKind.CHECK_PROVIDER:
        return "check the base_url; the provider may be down"
    if kind is StepKind.CHECK_NETWORK:
        return "check the network and the account's base_url, then retry"
    if kind is StepKind.CHECK_CLOCK:
        return "check that this computer's clock is right"
    if kind is StepKind.USE_HTTPS:
        return "use https://, plain http is allowed only to loopback addresses"
    if kind is StepKind.WAIT:
        if step.until is not None:
            at = time.strftime("%H:%M:%S", time.localtime(step.until))
            return f"the provider is rate limiting; retry after {at}"
        return "the provider is rate limiting; wait a minute and retry"
    if kind is StepKind.RETRY:
        return "try again"
    if kind is StepKind.STALE_LOCK:
        return "try again; if no trayauth is running, delete the lock file"
    if kind is StepKind.FIX_FILE:
        return "fix or move the file by hand, it was not changed"
    if kind is StepKind.RESTORE_VAULT:
        return "restore it (or its key) from a backup, or move it aside and log in again"
    if kind is StepKind.RESTORE_KEY:
        if keys:
            return f"unset {env} if the key is in the keyring, else move the vault aside and log in again"
        return (
            "restore the key if you moved the vault or the keyring, "
            "else move the vault aside and log in again"
        )
    if kind is StepKind.START_KEYRING:
        return "start or unlock the system keyring (over SSH, D-Bus may be missing), then retry"
    if kind is StepKind.UNLOCK_KEYRING:
        return "unlock the system keyring, then retry"
    if kind is StepKind.ALLOW_KEY_FILE:
        return f"fix the keyring, or unset {env} to allow a key file"
    if kind is StepKind.CHOOSE_KEY_STORAGE:
        return f"use {env}=file on a box without a keyring, or unset it"
    if kind is StepKind.PICK_ACCOUNT:
        if account:
            return f"did you mean {account!r}? see 'trayauth list'"
        return "see 'trayauth list', or add it with 'trayauth add NAME PRESET'"
    if kind is StepKind.PICK_NAME:
        return "pick another name, or 'trayauth remove' the old one first"
    if kind is StepKind.PICK_PRESET:
        return "see 'trayauth providers'"
    if kind is StepKind.PASTE_AGAIN:
        return "check the key and paste it again"
    if kind is StepKind.PASTE_NEW:
        if account:
            return f"get a fresh token from the provider and paste it with 'trayauth login {account}'"
        return "get a fresh token from the provider and paste that"
    if kind is StepKind.PASTE_REDIRECT:
        return "paste the address the browser was sent to after you approved, or finish in the browser"
    if kind is StepKind.ALLOW_IN_TRAY:
        return "ask again and choose Allow, or turn off 'Ask before handing out' in Settings"
    if kind is StepKind.CONSENT_NEEDS_DESKTOP:
        return "run the tray on a desktop, or turn off 'Ask before handing out' for it"
    if kind is StepKind.ANSWER_IN_TRAY:
        return "answer the question in the tray when it appears"
    if kind is StepKind.START_TRAY:
        return "start the tray ('trayauth'), then try again"
    if kind is StepKind.RETRY_LATER:
        return "the provider is too slow or stuck; retry later"
    if kind is StepKind.PASTE_ALONE:
        return "paste the token alone"
    if kind is StepKind.MOVE_ASIDE:
        return "move it aside (or delete it) and start again"
    if kind is StepKind.OWN_FOLDER:
        return "use a folder of your own (TRAYAUTH_CONFIG_DIR), or move it aside"
    if kind is StepKind.MAKE_PRIVATE:
        return (
            f"run 'chmod 600 {step.path}' if nobody else could have read it, "
            "else move the vault aside and log in again"
        )
    if kind is StepKind.FIX_MODE:
        return f"run 'chmod {keys[0] if keys else '600'} {step.path}' after checking its content is yours"
    if kind is StepKind.FREE_DISK:
        return "free some disk space, then retry"
    if kind is StepKind.MAKE_WRITABLE:
        return "make it writable (or remount it), then retry"
    if kind is StepKind.FIX_OWNERSHIP:
        return "make the config folder and its files yours and writable, then retry"
    if kind is StepKind.REMOVE_LINK:
        return "delete the link (trayauth makes a new lock file), then retry"
    if kind is StepKind.CHECK_DISK:
        return "retry; if it persists, check the disk and the folder"
    if kind is StepKind.SHOW_USAGE:
        command = keys[0] if keys else ""
        return f"usage: {USAGES[command]}" if command in USAGES else f"see 'trayauth {command} --help'"
    if kind is StepKind.CHOOSE_ONE:
        return f"one of {', '.join(keys)}"
    raise AssertionError(f"no CLI wording for {kind}")  # pragma: no cover - every kind is above


def line_of(message: str, step: NextStep | None) -> str:
    """The one line a user sees: the message, then what to do next."""
    return f"{message}; {command(step)}" if step is not None else message


def line(exc: TrayauthError) -> str:
    return line_of(exc.message, exc.next_step)


def renewal_warning_of(message: str, step: object, *, expired: bool) -> str:
    """A renewal failed but a token is handed out: said the same on every path (through the tray,
    direct, and the integrations); callers print it after "warning: ". ``message`` is the
    account's recorded error (it names the account); ``step`` is a NextStep, its dict (from the
    tray's socket) or None."""
    worded = line_of(
        message, step if isinstance(step, NextStep) or step is None else NextStep.from_dict(step)
    )
    return renewal_warning(worded, expired=expired)


def line_from_wire(message: str, step: object) -> str:
    """The same line from the tray agent's reply (a step as its dict, or nothing)."""
    return line_of(message, NextStep.from_dict(step) if isinstance(step, Mapping) else None)


def step_of(exc: TrayauthError) -> str:
    """Just the next step of an error, as a command ("" when there is none)."""
    return command(exc.next_step) if exc.next_step is not None else ""
