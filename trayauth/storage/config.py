"""Accounts and app settings in ``config.toml``: everything that is NOT a secret.

The file is meant to be read and edited by hand, so a broken one is reported in one line that
names the file and the problem, and it is never rewritten: a mutation re-reads the file under a
cross-process lock and refuses to write when the file does not parse. Secrets never come here;
a setting whose key looks like one is refused outright.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from trayauth.domain.errors import AccountExists, AccountNotFound, ConfigError, UsageError
from trayauth.domain.model import Account
from trayauth.domain.steps import NextStep, StepKind
from trayauth.domain.text import DEFAULT_HEADER_FORMAT
from trayauth.storage import atomic
from trayauth.storage.locks import locked_write

_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9_@][A-Za-z0-9._@-]{0,63}")
_PRESET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SETTING_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# The last word of a key that names a secret: password, client_secret, api_key, access_token …
_SECRET_WORDS = frozenset({"password", "passwd", "pwd", "secret", "token", "key", "apikey", "credentials"})
_MAX_VALUE = 8192
_LOCK_TIMEOUT = 10.0

HEADER = (
    "# trayauth: accounts and app settings. No secrets here: passwords and tokens are kept\n"
    "# encrypted in vault.json. Edit by hand if you like; trayauth rewrites this file on changes.\n\n"
)


LEFT_CLICK = ("copy", "quick")


@dataclass(frozen=True, slots=True)
class AppSettings:
    default: str | None = None
    clipboard_clear_seconds: int = 60
    header_format: str = DEFAULT_HEADER_FORMAT
    notify_lead_seconds: int = 300
    autostart: bool = False
    left_click: str = "copy"  # the tray icon's left click: "copy" the default's header, or "quick" access


@dataclass(frozen=True, slots=True)
class Config:
    accounts: dict[str, Account] = field(default_factory=dict)  # in file order
    app: AppSettings = field(default_factory=AppSettings)


# ---- validation: each check returns a problem (a phrase) or None ---------------------------


def account_name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not _ACCOUNT_NAME.fullmatch(name):
        return (
            "an account name is 1-64 characters of letters, digits, '.', '_', '@' or '-', "
            "not starting with '.' or '-'"
        )
    return None


def validate_account_name(name: str) -> str:
    problem = account_name_problem(name)
    if problem:
        raise UsageError(f"invalid account name {name!r}: {problem}", account=name, named=True)
    return name


def looks_secret(key: str) -> bool:
    """True for keys like password, client_secret, api_key, refresh_token (not token_url)."""
    lowered = key.lower()
    return lowered.rsplit("_", 1)[-1] in _SECRET_WORDS or lowered in ("api_key", "apikey")


def _setting_problem(key: object, value: object) -> str | None:
    if not isinstance(key, str) or not _SETTING_KEY.fullmatch(key):
        return f"setting key {key!r} must be a simple identifier (letters, digits, '_')"
    if looks_secret(key):
        return f"{key!r} looks like a secret, and secrets never go in the config file"
    if not isinstance(value, str):
        return f"setting {key!r} must be a string"
    if len(value) > _MAX_VALUE:
        return f"setting {key!r} is longer than {_MAX_VALUE} characters"
    return None


def _header_format_problem(value: str) -> str | None:
    if "{token}" not in value or "\n" in value or "\r" in value:
        return "header_format must be one line containing {token}"
    try:
        value.format(token="")
    except (KeyError, IndexError, ValueError):
        return "header_format may contain no placeholder but {token} (write {{ and }} for braces)"
    return None


def _app_field_problem(key: str, value: object) -> str | None:
    if key == "default":
        return "default must be the name of an account" if account_name_problem(value) else None
    if key in ("clipboard_clear_seconds", "notify_lead_seconds"):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 7 * 86400:
            return f"{key} must be a whole number of seconds from 0 to 604800"
        return None
    if key == "header_format":
        return _header_format_problem(value) if isinstance(value, str) else "header_format must be a string"
    if key == "autostart":
        return None if isinstance(value, bool) else "autostart must be true or false"
    if key == "left_click":
        return None if value in LEFT_CLICK else 'left_click must be "copy" or "quick"'
    names = ", ".join(f.name for f in fields(AppSettings))
    return f"unknown app setting {key!r} (known: {names})"


# ---- reading ----------------------------------------------------------------------------------


def load_config(path: Path) -> Config:
    """The config in ``path``; an absent file is an empty config. Never writes."""
    raw = read_config_bytes(path)
    return Config() if raw is None else parse_config(raw, path)


def read_config_bytes(path: Path) -> bytes | None:
    """The file's content; None when there is no file."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc.__class__.__name__}") from None


def parse_config(raw: bytes, path: Path) -> Config:

    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {_one_line(str(exc))}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    try:
        return _config_from_doc(doc)
    except _Shape as exc:
        raise ConfigError(f"{path}: {exc}") from None


class _Shape(Exception):
    """A well-formed TOML file with the wrong structure; becomes a ConfigError naming the file."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _config_from_doc(doc: dict[str, Any]) -> Config:
    for key in doc:
        if key not in ("app", "accounts"):
            raise _Shape(f"unknown top-level key {key!r} (expected [app] and [accounts.NAME])")
    app_doc = doc.get("app", {})
    if not isinstance(app_doc, dict):
        raise _Shape("'app' must be a table ([app])")
    for key, value in app_doc.items():
        problem = _app_field_problem(key, value)
        if problem:
            raise _Shape(f"[app] {problem}")
    accounts_doc = doc.get("accounts", {})
    if not isinstance(accounts_doc, dict):
        raise _Shape("'accounts' must be a table of accounts ([accounts.NAME])")
    accounts: dict[str, Account] = {}
    for name, body in accounts_doc.items():
        accounts[name] = _account_from_doc(name, body)
    return Config(accounts=accounts, app=AppSettings(**app_doc))


def _account_from_doc(name: str, body: object) -> Account:
    where = f"[accounts.{name}]" if _ACCOUNT_NAME.fullmatch(name) else f"account {name!r}"
    problem = account_name_problem(name)
    if problem:
        raise _Shape(f"{where}: {problem}")
    if not isinstance(body, dict):
        raise _Shape(f"{where} must be a table")
    for key in body:
        if key not in ("preset", "settings"):
            raise _Shape(f"{where}: unknown key {key!r} (expected preset and [settings])")
    preset = body.get("preset")
    if not isinstance(preset, str) or not _PRESET_ID.fullmatch(preset):
        raise _Shape(f"{where}: 'preset' must be a preset id such as \"bearer\"")
    settings = body.get("settings", {})
    if not isinstance(settings, dict):
        raise _Shape(f"{where}: 'settings' must be a table")
    for key, value in settings.items():
        problem = _setting_problem(key, value)
        if problem:
            raise _Shape(f"{where}: {problem}")
    return Account(name=name, preset=preset, settings=dict(settings))


# ---- writing ----------------------------------------------------------------------------------


def _doc_from_config(config: Config) -> dict[str, Any]:
    defaults = AppSettings()
    app = {
        f.name: getattr(config.app, f.name)
        for f in fields(AppSettings)
        if getattr(config.app, f.name) != getattr(defaults, f.name)
    }
    doc: dict[str, Any] = {}
    if app:
        doc["app"] = app
    accounts: dict[str, Any] = {}
    for name, acct in config.accounts.items():
        body: dict[str, Any] = {"preset": acct.preset}
        if acct.settings:
            body["settings"] = dict(acct.settings)
        accounts[name] = body
    doc["accounts"] = accounts
    return doc


def dump_config(config: Config) -> bytes:

    return (HEADER + tomli_w.dumps(_doc_from_config(config))).encode("utf-8")


def _checked_account(account: Account) -> Account:
    validate_account_name(account.name)
    if not isinstance(account.preset, str) or not _PRESET_ID.fullmatch(account.preset):
        raise UsageError(f"invalid preset id {account.preset!r}")
    return replace(account, settings=_checked_settings(account.name, account.settings))


def _checked_settings(name: str, settings: Mapping[str, str]) -> dict[str, str]:
    for key, value in settings.items():
        problem = _setting_problem(key, value)
        if problem is None:
            continue
        if isinstance(key, str) and looks_secret(key):
            raise UsageError(
                problem,
                account=name,
                next_step=NextStep.of(StepKind.SECRET_AT_LOGIN, account=name),
            )
        raise UsageError(problem, account=name)
    return dict(settings)


class ConfigStore:
    """Reads and changes ``config.toml``; every change is lock, re-read, change, atomic write."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_suffix(".lock")
        # The last content parsed and its Config: the tray re-reads the file for every renewal
        # and every scheduler look, and parsing TOML is what costs (~5 ms for 200 accounts).
        self._parsed: tuple[bytes, Config] | None = None

    def load(self) -> Config:
        """The config as the file says now (re-read every time; parsed again only when changed)."""
        raw = read_config_bytes(self.path)
        if raw is None:
            return Config()
        parsed = self._parsed
        if parsed is None or parsed[0] != raw:
            parsed = self._parsed = (raw, parse_config(raw, self.path))
        config = parsed[1]
        return replace(config, accounts=dict(config.accounts))  # callers may not share the dict

    def get_account(self, name: str) -> Account:
        config = self.load()
        account = config.accounts.get(name)
        if account is None:
            raise _not_found(name, config)
        return account

    def add_account(self, account: Account) -> Account:
        account = _checked_account(account)

        def change(config: Config) -> Config:
            if account.name in config.accounts:
                raise AccountExists(
                    f"an account named {account.name!r} already exists", account=account.name, named=True
                )
            return replace(config, accounts={**config.accounts, account.name: account})

        self._mutate(change)
        return account

    def remove_account(self, name: str) -> None:
        def change(config: Config) -> Config:
            if name not in config.accounts:
                raise _not_found(name, config)
            accounts = {k: v for k, v in config.accounts.items() if k != name}
            app = replace(config.app, default=None) if config.app.default == name else config.app
            return Config(accounts=accounts, app=app)

        self._mutate(change)

    def update_account_settings(self, name: str, settings: Mapping[str, str]) -> Account:
        """Replace the account's settings with ``settings`` (the whole set, so keys can go)."""
        checked = _checked_settings(name, settings)

        def change(config: Config) -> Config:
            if name not in config.accounts:
                raise _not_found(name, config)
            account = replace(config.accounts[name], settings=checked)
            return replace(config, accounts={**config.accounts, name: account})

        return self._mutate(change).accounts[name]

    def set_default(self, name: str | None) -> None:
        def change(config: Config) -> Config:
            if name is not None and name not in config.accounts:
                raise _not_found(name, config)
            return replace(config, app=replace(config.app, default=name))

        self._mutate(change)

    def update_app(self, **values: object) -> AppSettings:
        """Change app settings; each value is checked as a hand edit would be."""
        for key, value in values.items():
            if key == "default" and value is None:
                continue
            problem = _app_field_problem(key, value)
            if problem:
                raise UsageError(problem)

        def change(config: Config) -> Config:
            default = values.get("default", config.app.default)
            if default is not None and default not in config.accounts:
                raise _not_found(str(default), config)
            return replace(config, app=replace(config.app, **values))  # type: ignore[arg-type]

        return self._mutate(change).app

    def _mutate(self, change: Callable[[Config], Config]) -> Config:

        with locked_write(self.path.parent, self.lock_path, self.path.name, _LOCK_TIMEOUT):
            config = self.load()  # raises ConfigError on a broken file: nothing is written
            new: Config = change(config)
            data = dump_config(new)
            # Parse what we are about to write: a bug here must not leave an unreadable file.
            parse_config(data, self.path)
            atomic.remove_leftovers(self.path)  # a writer killed mid-write (we hold the lock)
            atomic.write_atomic(self.path, data, 0o600)
        return new


def _not_found(name: str, config: Config) -> AccountNotFound:

    close = difflib.get_close_matches(name, list(config.accounts), n=1)
    if close:
        return AccountNotFound(
            f"no account named {name!r}",
            account=name,
            named=True,
            next_step=NextStep.of(StepKind.PICK_ACCOUNT, account=close[0]),
        )
    return AccountNotFound(f"no account named {name!r}", account=name, named=True)
