"""The commands that hand a token to another tool: exec, env, kube, git-credential, proxy.

``exec``, ``kube`` and ``git-credential`` run before every command, kubectl call or git fetch,
so :func:`fast` serves their plain forms before argparse is imported, with only the standard
library and the tray's socket (the core is imported only when no tray runs). Anything unusual
(``--help``, a typo) goes through argparse, which ends in the same functions.
"""

from __future__ import annotations

import sys

from trayauth.cli import debug_enabled, main
from trayauth.client import token_digest
from trayauth.integrations.source import from_agent

TYPE_CHECKING = False  # not typing's: the exec/kube/git-credential fast path must not import it
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

FAST_COMMANDS = ("exec", "kube", "git-credential")


def _err(line: str) -> None:
    print(f"trayauth: {line}", file=sys.stderr)


def _warn(grant: Any) -> None:
    if grant.warning:
        _err(f"warning: {grant.warning}")


def get_token(name: str, renew: str | None, protect: bool = False) -> Any:
    """The tray's token, else the core's. Before the core reads the vault key, the real CLI
    process (``protect``) makes itself non-dumpable, as the argparse path does (trayauth.process)."""
    grant = from_agent(name, renew)
    if grant is not None:
        return grant
    # No tray: the core reads the vault key. Loaded only now, so the path above stays light.
    from trayauth.integrations.direct import direct
    from trayauth.process import not_dumpable

    if protect:
        not_dumpable()
    return direct(name, renew)


def exec_command(name: str, var: str, command: Sequence[str], protect: bool = False) -> int:
    from trayauth.integrations import exec as integration

    integration.check_var(var)
    if not command:
        from trayauth.domain.errors import UsageError

        raise UsageError(
            f"no command given; usage: trayauth exec {name} -- COMMAND [ARG]...", account=name, named=True
        )
    grant = get_token(name, None, protect)
    _warn(grant)
    return integration.run(command, integration.variables(grant.token, var, grant.token_type))


def env_command(name: str, var: str, shell: str) -> int:
    from trayauth.integrations import exec as integration

    integration.check_var(var)
    grant = get_token(name, None)
    _warn(grant)
    values = integration.variables(grant.token, var, grant.token_type)
    sys.stdout.write(integration.export_lines(values, shell))
    return 0


def kube_command(name: str, protect: bool = False) -> int:
    from trayauth.integrations.kube import exec_credential, requested_api_version

    grant = get_token(name, None, protect)
    _warn(grant)
    sys.stdout.write(exec_credential(grant.token, grant.expires_at, api_version=requested_api_version()))
    return 0


def git_credential_command(name: str, action: str, username: str | None, protect: bool = False) -> int:
    from trayauth.integrations import git_credential as git

    attrs = git.parse(sys.stdin) if action in git.ACTIONS else {}

    def fetch(renew: str | None) -> tuple[str, str | None]:
        grant = get_token(name, renew, protect)
        return grant.token, grant.warning

    user = username or attrs.get("username") or git.DEFAULT_USERNAME
    sys.stdout.write(git.helper(action, attrs, user, fetch, token_digest))
    return 0


def proxy_command(name: str, port: int, unix_socket: str | None) -> int:
    from trayauth.integrations.proxy import serve_forever

    return serve_forever(name, port=port, unix_socket=unix_socket)


# ---- before argparse ---------------------------------------------------------------------------


def _parse_fast(argv: Sequence[str]) -> tuple[str, tuple[Any, ...]] | None:
    """(command, arguments) for the plain forms; None for anything argparse should see."""
    cmd, rest = argv[0], list(argv[1:])
    if not rest or rest[0].startswith("-"):
        return None
    name = rest.pop(0)
    if cmd == "kube":
        return ("kube", (name,)) if not rest else None
    if cmd == "git-credential":
        username = None
        if len(rest) == 3 and rest[0] == "--username":
            username, rest = rest[1], rest[2:]
        return ("git-credential", (name, rest[0], username)) if len(rest) == 1 else None
    # exec NAME [--env VAR] -- CMD...
    var = "TRAYAUTH_TOKEN"
    if rest[:1] == ["--env"] and len(rest) >= 2:
        var, rest = rest[1], rest[2:]
    elif rest[:1] and rest[0].startswith("--env="):
        var, rest = rest[0].split("=", 1)[1], rest[1:]
    if rest[:1] != ["--"] or len(rest) < 2:
        return None
    return ("exec", (name, var, rest[1:]))


def fast(argv: Sequence[str], *, protect: bool = False) -> int | None:
    """``protect``: this is the real CLI process (not a test calling main in-process)."""
    parsed = _parse_fast(argv)
    if parsed is None:
        return None
    cmd, args = parsed
    name = args[0]
    try:
        if cmd == "kube":
            return kube_command(name, protect)
        if cmd == "git-credential":
            return git_credential_command(name, args[1], args[2], protect)
        return exec_command(name, args[1], args[2], protect)
    except KeyboardInterrupt:
        _err("cancelled")
        return 130
    except Exception as exc:
        # Imported only now: the success path of these commands never loads the error classes.
        from trayauth.domain.errors import TrayauthError

        if isinstance(exc, TrayauthError):
            from trayauth.cli.wording import line as cli_line

            _err(cli_line(exc.about(name)))
            return exc.exit_code
        if debug_enabled():
            raise
        _err(f"internal error ({exc.__class__.__name__}); set TRAYAUTH_DEBUG=1 to see details")
        return 70


def git_credential_main() -> int:
    """``git-credential-trayauth [git-credential] NAME ACTION``: what git runs for a helper
    configured as ``trayauth NAME`` (git prepends ``git credential-``), so the short form
    ``credential.helper "trayauth NAME"`` works as well as ``"!trayauth git-credential NAME"``."""
    args = sys.argv[1:]
    if args[:1] == ["git-credential"]:
        args = args[1:]
    return main(["git-credential", *args])


# ---- from argparse -----------------------------------------------------------------------------


def cmd_exec(args: Any) -> int:
    command = list(args.cmd)
    if command[:1] == ["--"]:
        command = command[1:]
    return exec_command(args.name, args.env, command)


def cmd_env(args: Any) -> int:
    return env_command(args.name, args.env, args.shell)


def cmd_kube(args: Any) -> int:
    return kube_command(args.name)


def cmd_git_credential(args: Any) -> int:
    return git_credential_command(args.name, args.action, args.username)


def cmd_proxy(args: Any) -> int:
    return proxy_command(args.name, args.port, args.socket)


def add_parsers(sub: Any) -> None:
    """This module's subcommands, on the CLI's argparse subparsers."""
    import argparse

    ex = sub.add_parser("exec", help="run a command with the token in $TRAYAUTH_TOKEN (never in argv)")
    ex.add_argument("name")
    ex.add_argument("--env", default="TRAYAUTH_TOKEN", metavar="VAR", help="the variable for the token")
    ex.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARG]...")

    env = sub.add_parser("env", help='the export line, for eval "$(trayauth env NAME)"')
    env.add_argument("name")
    env.add_argument("--env", default="TRAYAUTH_TOKEN", metavar="VAR")
    env.add_argument("--shell", default="sh", choices=("sh", "fish", "powershell"))

    kube = sub.add_parser("kube", help="a kubectl ExecCredential (client.authentication.k8s.io/v1)")
    kube.add_argument("name")

    git = sub.add_parser("git-credential", help="git's credential helper protocol")
    git.add_argument("name")
    git.add_argument("action", choices=("get", "store", "erase"))
    git.add_argument("--username", help="the username to give git (default: git's own, else oauth2)")

    proxy = sub.add_parser("proxy", help="a 127.0.0.1 proxy to the account's base URL that adds the header")
    proxy.add_argument("name")
    proxy.add_argument("--port", type=int, default=0, help="the port (default: one the OS picks)")
    proxy.add_argument("--socket", metavar="PATH", help="listen on a unix socket (0600) instead of a port")
