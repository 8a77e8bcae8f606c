"""What the user can do about a failure, as data: the next step an error carries.

The CLI words a step as a command (``trayauth.cli.wording``), the tray as a sentence
(``trayauth.ui.state.wording``). Kept apart from :mod:`trayauth.domain.errors` because errors
are raised on the CLI's fast path, which must not import ``enum`` or ``dataclasses``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class StepKind(enum.StrEnum):
    """What the user can do about a failure. The value is the stable name stored and sent."""

    LOG_IN = "log_in"  # account; keys: what to check before logging in again
    LOG_IN_SOONER = "log_in_sooner"  # account (or None): a sign-in ran out of time
    SECRET_AT_LOGIN = "secret_at_login"  # account: a secret was offered as a setting
    SET_SETTING = "set_setting"  # account, preset, keys: required settings it lacks
    CHECK_SETTING = "check_setting"  # account, keys (none: "the setting")
    CHECK_PRESET = "check_preset"  # the account's settings or its preset cannot make a request
    CHECK_PROVIDER = "check_provider"  # the provider answered nonsense: base_url, or it is down
    CHECK_NETWORK = "check_network"  # account: the provider could not be reached
    CHECK_CLOCK = "check_clock"  # tokens arrive already due: this computer's clock may be off
    USE_HTTPS = "use_https"  # plain http is only for loopback addresses
    WAIT = "wait"  # until (POSIX seconds, None: unknown): the provider is rate limiting
    RETRY = "retry"  # something transient (another process held a lock): try again
    STALE_LOCK = "stale_lock"  # path: a lock held long; it may be left by a dead process
    FIX_FILE = "fix_file"  # path: a file we cannot read, left as it was
    RESTORE_VAULT = "restore_vault"  # path: the vault cannot be opened, left as it was
    RESTORE_KEY = "restore_key"  # keys: (the key-storage variable) when it forces the file
    START_KEYRING = "start_keyring"  # no keyring works here
    UNLOCK_KEYRING = "unlock_keyring"  # the keyring refused to give the key
    ALLOW_KEY_FILE = "allow_key_file"  # keys: (the key-storage variable) forbids the file
    CHOOSE_KEY_STORAGE = "choose_key_storage"  # keys: (the variable) has a bad value
    PICK_ACCOUNT = "pick_account"  # account: a close match for the name asked for, if any
    PICK_NAME = "pick_name"  # account: the name is taken
    PICK_PRESET = "pick_preset"  # the preset id is unknown
    PASTE_AGAIN = "paste_again"  # a pasted key was rejected
    PASTE_NEW = "paste_new"  # a pasted token has expired: get a fresh one
    PASTE_REDIRECT = "paste_redirect"  # a pasted redirect was not this sign-in's
    ALLOW_IN_TRAY = "allow_in_tray"  # the user denied a hand-out: allow it, or stop asking
    CONSENT_NEEDS_DESKTOP = "consent_needs_desktop"  # the tray has no window to ask in
    ANSWER_IN_TRAY = "answer_in_tray"  # nobody answered the tray's question in time
    START_TRAY = "start_tray"  # only a running tray can do this (ask before handing out)
    RETRY_LATER = "retry_later"  # the provider is too slow or stuck
    PASTE_ALONE = "paste_alone"  # a pasted token came with something else around it
    MOVE_ASIDE = "move_aside"  # path: something of ours is in the way (not a folder, not ours)
    OWN_FOLDER = "own_folder"  # path: a folder others can change: use one of your own
    MAKE_PRIVATE = "make_private"  # path: a secret file others could read
    FIX_MODE = "fix_mode"  # path, keys: (the chmod mode): a file others could change
    FREE_DISK = "free_disk"  # the disk is full
    MAKE_WRITABLE = "make_writable"  # the config folder is read-only
    FIX_OWNERSHIP = "fix_ownership"  # the config folder or its files are not ours or not writable
    REMOVE_LINK = "remove_link"  # path: a symbolic link where a lock file belongs
    CHECK_DISK = "check_disk"  # another storage failure
    SHOW_USAGE = "show_usage"  # keys: (the command,): a command line it cannot run
    CHOOSE_ONE = "choose_one"  # keys: the values accepted


@dataclass(frozen=True, slots=True)
class NextStep:
    """One step the user can take, as data. Build one with the class methods below."""

    kind: StepKind
    account: str | None = None
    preset: str | None = None
    keys: tuple[str, ...] = ()
    until: float | None = None
    path: str | None = None

    # ---- constructors, one per kind that carries data ---------------------------------------

    @classmethod
    def log_in(cls, account: str, *, check: tuple[str, ...] = ()) -> NextStep:
        return cls(StepKind.LOG_IN, account=account, keys=check)

    @classmethod
    def paste_new(cls, account: str | None = None) -> NextStep:
        """A pasted token ran out: only a new one, pasted, helps (there is nothing to log in to)."""
        return cls(StepKind.PASTE_NEW, account=account)

    @classmethod
    def log_in_sooner(cls, account: str | None = None) -> NextStep:
        return cls(StepKind.LOG_IN_SOONER, account=account)

    @classmethod
    def set_setting(cls, account: str, preset: str, keys: tuple[str, ...]) -> NextStep:
        return cls(StepKind.SET_SETTING, account=account, preset=preset, keys=keys)

    @classmethod
    def check_setting(cls, account: str | None = None, keys: tuple[str, ...] = ()) -> NextStep:
        return cls(StepKind.CHECK_SETTING, account=account, keys=keys)

    @classmethod
    def check_network(cls, account: str | None = None) -> NextStep:
        return cls(StepKind.CHECK_NETWORK, account=account)

    @classmethod
    def wait(cls, until: float | None = None) -> NextStep:
        return cls(StepKind.WAIT, until=until)

    @classmethod
    def fix_file(cls, path: str) -> NextStep:
        return cls(StepKind.FIX_FILE, path=path)

    @classmethod
    def of(
        cls,
        kind: StepKind,
        *,
        account: str | None = None,
        path: str | None = None,
        keys: tuple[str, ...] = (),
    ) -> NextStep:
        return cls(kind, account=account, path=path, keys=keys)

    # ---- storing and sending ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind.value}
        if self.account is not None:
            data["account"] = self.account
        if self.preset is not None:
            data["preset"] = self.preset
        if self.keys:
            data["keys"] = list(self.keys)
        if self.until is not None:
            data["until"] = self.until
        if self.path is not None:
            data["path"] = self.path
        return data

    @classmethod
    def from_dict(cls, data: object) -> NextStep | None:
        """None for anything that is not a step this version knows (an old or newer vault)."""
        if not isinstance(data, Mapping):
            return None
        try:
            kind = StepKind(str(data.get("kind")))
        except ValueError:
            return None

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        keys = data.get("keys") or ()
        until = data.get("until")
        return cls(
            kind,
            account=text("account"),
            preset=text("preset"),
            keys=tuple(k for k in keys if isinstance(k, str)) if isinstance(keys, list | tuple) else (),
            until=float(until) if isinstance(until, int | float) and not isinstance(until, bool) else None,
            path=text("path"),
        )
