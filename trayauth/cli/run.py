"""The CLI's commands. Every failure becomes one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import webbrowser
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from trayauth.cli import debug_enabled, handoff
from trayauth.cli.fast import format_output
from trayauth.cli.interact import CliAsker, read_secrets, secret_fields_to_ask
from trayauth.cli.wording import line, line_of, renewal_warning_of
from trayauth.client import request_pick, socket_path, tray_running
from trayauth.domain.errors import TrayauthError, UsageError
from trayauth.domain.model import Account
from trayauth.domain.presets import PresetCatalog
from trayauth.domain.text import time_left
from trayauth.integrations.direct import refuse_if_asking
from trayauth.net.http import check_url
from trayauth.services.broker import Broker
from trayauth.storage.paths import Paths
from trayauth.storage.store import Store
from trayauth.storage.trust import check_private

if TYPE_CHECKING:
    from trayauth.domain.presets import Preset
    from trayauth.services.broker import AccountView

T = TypeVar("T")


SIGN_IN_AGAIN = "the provider gave no refresh token, so this session cannot renew itself: sign in again"


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def err(line: str) -> None:
    print(f"trayauth: {line}", file=sys.stderr)


def _broker() -> Broker:

    return Broker.open()


def _async(broker: Broker, coro: Coroutine[Any, Any, T]) -> T:

    async def runner() -> T:
        try:
            return await coro
        finally:
            await broker.aclose()

    return asyncio.run(runner())


def _fallback_note(broker: Broker) -> None:
    location = broker.key_location()
    if location.fallback:
        err(f"note: secrets are encrypted with a key kept in {location.description}")


def cmd_providers(args: argparse.Namespace) -> int:

    paths = Paths.default()
    check_private(paths.root, "the config folder")
    presets, errors = PresetCatalog(paths.presets_dir, vet=check_private).all()
    if args.json:
        print(json.dumps([p.to_json() for p in presets], indent=2))
    else:
        for p in presets:
            settings = " ".join(
                f"{f.key}{'' if f.required and not f.default else '?'}" for f in p.setting_fields
            )
            secrets = " ".join(f.key + ("" if f.required else "?") for f in p.secret_fields)
            print(f"{p.id:<26} {p.label}")
            if p.overrides_builtin:
                print(f"{'':<26}   your own preset ({p.source}), in place of the built-in one")
            print(f"{'':<26}   settings: {settings or '-'}; secrets: {secrets or '-'}")
    for p in presets:
        if p.overrides_builtin:
            err(f"note: {override_note(p)}")
    for exc in errors:
        err(f"warning: {line(exc)}")
    return 0


def override_note(preset: Preset) -> str:
    return f"preset {preset.id!r} is your own file {preset.source}, used in place of the built-in one"


def _parse_settings(pairs: list[str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {pair.split('=')[0]!r} must look like KEY=VALUE")
        settings[key.strip()] = value.strip()
    return settings


def cmd_add(args: argparse.Namespace) -> int:

    broker = _broker()
    preset = broker.presets.get(args.preset)
    settings = _parse_settings(args.settings)
    known = {f.key: f for f in preset.fields}
    for key, value in settings.items():
        field = known.get(key)
        if field is None:
            keys = ", ".join(f.key for f in preset.setting_fields)
            raise UsageError(f"{preset.id} has no setting {key!r}; its settings: {keys}")
        if field.secret:
            raise UsageError(
                f"{key} is a secret and never goes on the command line; "
                f"'trayauth login {args.name}' asks for it"
            )
        if field.kind == "url" and value:
            check_url(value)
    missing = preset.missing_settings(settings)
    if missing:
        sets = " ".join(f"--set {k}=…" for k in missing)
        raise UsageError(f"{preset.id} needs {', '.join(missing)}; {sets}")
    broker.add(Account(name=args.name, preset=preset.id, settings=settings))
    if args.default:
        broker.set_default(args.name)
    print(f"added {args.name} ({preset.label}); next: trayauth login {args.name}", file=sys.stderr)
    return 0


def cmd_login(args: argparse.Namespace) -> int:

    broker = _broker()
    _account, preset = broker.account(args.name)
    if preset.overrides_builtin:
        err(f"note: {override_note(preset)}")
    fields = secret_fields_to_ask(preset, args.with_secret)
    secrets = read_secrets(
        fields, from_stdin=args.secret_stdin, account=args.name, every=preset.secret_fields
    )
    _fallback_note(broker)
    asker = CliAsker(allow_paste=not args.secret_stdin)
    opener: Callable[[str], bool] | None = None if args.no_browser else webbrowser.open
    tokens = _async(broker, broker.login(args.name, secrets, asker=asker, open_browser=opener))
    left = None if tokens.expires_at is None else int(tokens.expires_at - broker.clock())
    print(f"logged in {args.name}: {time_left(left)}", file=sys.stderr)
    ends = broker.view(args.name).sign_in_by
    if ends is not None:
        err(f"note: {args.name}: {SIGN_IN_AGAIN} by {iso(ends)} (in {time_left(ends - broker.clock())})")
    return 0


def _print_token(broker: Broker, name: str, command: str) -> int:

    refuse_if_asking(broker.paths.root, name)
    tokens = broker.cached_token(name)
    if tokens is None:
        tokens = _async(broker, broker.token(name))
        view = broker.view(name)
        if view.error:
            expired = view.state.value == "expired"
            err(f"warning: {renewal_warning_of(view.error, view.next_step, expired=expired)}")
    print(format_output(command, tokens.access_token, tokens.token_type))
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    return _print_token(_broker(), args.name, args.command)


def _view_json(view: AccountView) -> dict[str, Any]:
    return {
        "name": view.name,
        "provider": view.preset_id,
        "provider_label": view.provider,
        "state": view.state.value,
        "expires_at": iso(view.expires_at),
        "expires_in": view.expires_in,
        "default": view.is_default,
        "renewable": view.renewable,
        "error": None if view.error is None else line_of(view.error, view.next_step),
        "sign_in_by": iso(view.sign_in_by),
    }


def cmd_list(args: argparse.Namespace) -> int:
    broker = _broker()
    views = broker.accounts()
    location = broker.key_location() if views else None
    if args.json:
        print(json.dumps([_view_json(v) for v in views], indent=2))
    elif not views:
        print("no accounts yet; add one with 'trayauth add NAME PRESET' (see 'trayauth providers')")
    else:
        print(f"{'NAME':<20} {'PROVIDER':<26} {'STATE':<11} EXPIRES")
        for v in views:
            mark = "*" if v.is_default else " "
            when = time_left(v.expires_in) if v.state.value != "logged_out" else "-"
            print(f"{v.name + mark:<20} {v.preset_id:<26} {v.state.value:<11} {when}")
            if v.error:
                print(f"{'':<20} ! {line_of(v.error, v.next_step)}")
            elif v.sign_in_by is not None and v.state.value != "expired":
                print(f"{'':<20} ! no refresh token: sign in again by {iso(v.sign_in_by)}")
    if location is not None and location.fallback:
        err(f"note: secrets are encrypted with a key kept in {location.description}")
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    broker = _broker()
    tokens = _async(broker, broker.refresh(args.name))
    left = None if tokens.expires_at is None else int(tokens.expires_at - broker.clock())
    print(f"{args.name}: renewed, {time_left(left)} left" if left is not None else f"{args.name}: valid")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    broker = _broker()
    result = _async(broker, broker.logout(args.name))
    print(f"logged out {args.name}: {result.sentence}", file=sys.stderr)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    broker = _broker()
    _async(broker, broker.remove(args.name))
    print(f"removed {args.name}", file=sys.stderr)
    return 0


def cmd_default(args: argparse.Namespace) -> int:
    _broker().set_default(args.name)
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    broker = _broker()
    info = broker.inspect(args.name)
    data = {
        "kind": info.kind,
        "header": info.header,
        "claims": info.claims,
        "subject": info.subject,
        "issued_at": iso(info.issued_at),
        "expires_at": iso(info.expires_at),
        "not_before": iso(info.not_before),
        "scopes": list(info.scopes),
    }
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    print(f"kind:       {info.kind}")
    for key in ("subject", "issued_at", "expires_at", "not_before"):
        if data[key]:
            print(f"{key + ':':<11} {data[key]}")
    if info.scopes:
        print(f"scopes:     {' '.join(info.scopes)}")
    if info.header:
        print("header:     " + json.dumps(info.header, default=str))
    if info.claims:
        print("claims:")
        for key, value in info.claims.items():
            print(f"  {key}: {json.dumps(value, default=str)}")
    elif info.kind == "paseto-v4-local":
        print("claims:     (encrypted: a v4.local token is opaque without its key)")
    return 0


def cmd_status(_args: argparse.Namespace) -> int:

    paths = Paths.default()
    pid = None
    try:
        pid = tray_running(paths.runtime_dir)
    except OSError:
        pid = None
    print(f"tray: running (pid {pid})" if pid else "tray: not running")
    if pid:
        print(f"agent: {socket_path(paths.runtime_dir)}  (for ssh RemoteForward; see README)")
    print(f"config: {paths.config_file}")

    location = Store.open(paths.root).vault.key_location()
    print(f"secrets: encrypted in {paths.vault_file}, key in {location.description}")
    return 0


def cmd_pick(_args: argparse.Namespace) -> int:
    """Ask the running tray to open quick access: one line and exit 1 when there is none."""

    reply = request_pick(Paths.default().runtime_dir)
    if reply is None:
        print("trayauth: the tray is not running; start it with 'trayauth'", file=sys.stderr)
        return 1
    if not reply.get("ok"):
        print(f"trayauth: {reply.get('error') or 'the tray refused'}", file=sys.stderr)
        code = reply.get("exit_code")
        return code if isinstance(code, int) and not isinstance(code, bool) and code else 1
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "providers": cmd_providers,
    "add": cmd_add,
    "login": cmd_login,
    "list": cmd_list,
    "token": cmd_token,
    "header": cmd_token,
    "refresh": cmd_refresh,
    "logout": cmd_logout,
    "remove": cmd_remove,
    "default": cmd_default,
    "inspect": cmd_inspect,
    "status": cmd_status,
    "exec": handoff.cmd_exec,
    "env": handoff.cmd_env,
    "kube": handoff.cmd_kube,
    "git-credential": handoff.cmd_git_credential,
    "proxy": handoff.cmd_proxy,
    "pick": cmd_pick,
}


def run(args: argparse.Namespace, handler: Callable[[argparse.Namespace], int] | None = None) -> int:
    """Run the command (``handler``, else the one ``args`` names) and turn its failure into one
    line. The tray's commands are given as ``handler`` by the dispatch, which alone loads Qt."""
    handler = handler or COMMANDS[args.command]
    name = getattr(args, "name", None)
    try:
        if isinstance(name, str) and not name.isprintable():
            # Echoed raw, a control character could rewrite the terminal or forge a line.
            raise UsageError(
                f"invalid account name {name!r}: it contains control characters",
                account=repr(name),
                named=True,
            )
        return handler(args)
    except TrayauthError as exc:
        if isinstance(name, str) and name:
            # An error that does not say which account it is about is about this command's one.
            exc.about(name if name.isprintable() else repr(name))
        err(line(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        err("cancelled")
        return 130
    except BrokenPipeError:
        raise  # not a bug: the reader of our output went away (main stops quietly)
    except Exception as exc:  # a bug: one line, never a traceback that might hold a secret
        if debug_enabled():
            raise
        err(f"internal error ({exc.__class__.__name__}); set TRAYAUTH_DEBUG=1 to see details")
        return 70
