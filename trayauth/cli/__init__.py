"""The ``trayauth`` command.

Start-up time is a feature here: scripts call ``trayauth header NAME`` before every curl. So this
package imports nothing at the top; ``token``/``header`` ask a running tray over its socket first
(:mod:`trayauth.cli.fast`, which loads only what the console script's own ``import re`` and
``socket``/``json`` bring), argparse and each command's modules load only when needed, and Qt is
never imported except to start the tray. tests/unit/test_fast_path.py holds this to account.
"""

from __future__ import annotations

import os
import sys

from trayauth import __version__

TYPE_CHECKING = False  # not typing's: the fast path below must not import typing
if TYPE_CHECKING:
    from collections.abc import Sequence


def _parser() -> object:
    import argparse

    p = argparse.ArgumentParser(
        prog="trayauth",
        description="Keeps your API tokens alive: a tray app, and a CLI for scripts.",
        epilog="Run 'trayauth' with no command to start the tray.",
    )
    p.add_argument("--version", action="version", version=f"trayauth {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="the tray with a local demo provider and demo accounts")
    demo.add_argument("--config-dir", help="keep the demo's accounts here instead of a temp dir")

    prov = sub.add_parser("providers", help="presets and the settings each takes")
    prov.add_argument("--json", action="store_true")

    add = sub.add_parser("add", help="define an account (non-secret settings only)")
    add.add_argument("name")
    add.add_argument("preset")
    add.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    add.add_argument("--default", action="store_true", help="make it the default account")

    login = sub.add_parser("login", help="log in (prompts for the secret)")
    login.add_argument("name")
    login.add_argument("--secret-stdin", action="store_true", help="read secrets from stdin, one per line")
    login.add_argument("--no-browser", action="store_true", help="print the sign-in URL, don't open it")
    login.add_argument(
        "--with-secret",
        action="append",
        default=[],
        metavar="KEY",
        help="also ask for an optional secret field (e.g. client_secret)",
    )

    lst = sub.add_parser("list", help="accounts, their state and expiry")
    lst.add_argument("--json", action="store_true")

    for cmd, text in (
        ("token", "print the access token (renewed first if due)"),
        ("header", 'print "Authorization: Bearer <token>"'),
        ("refresh", "renew now"),
        ("logout", "forget the tokens and kept secrets"),
        ("remove", "log out and delete the account"),
        ("default", "make this the default account"),
    ):
        sp = sub.add_parser(cmd, help=text)
        sp.add_argument("name")

    ins = sub.add_parser("inspect", help="decoded claims, expiry and scopes (never the token)")
    ins.add_argument("name")
    ins.add_argument("--json", action="store_true")

    sub.add_parser("status", help="is the tray running, and where are secrets kept")
    sub.add_parser("pick", help="open the tray's quick-access window (bind it to a keyboard shortcut)")

    from trayauth.cli.handoff import add_parsers

    add_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The ``trayauth`` command. Called without ``argv`` it is the process's entry point and turns
    core dumps off for the process (a caller passing ``argv`` owns its process: tests, embedders)."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`trayauth list | head -1`): stop quietly, as other tools do, and
        # point stdout at nothing so the interpreter's last flush cannot complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a writer killed by the signal


def _no_core_files() -> None:
    """RLIMIT_CORE (0, 0) before a token is in memory (see trayauth.process); only ``resource``
    here, since the fast path's import set is part of its start-up time."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass


def _main(argv: Sequence[str] | None) -> int:
    if argv is None:
        _no_core_files()
    args_list = list(sys.argv[1:] if argv is None else argv)
    # The fast path: token/header through a running tray, before argparse is even imported.
    if len(args_list) == 2 and args_list[0] in ("token", "header") and not args_list[1].startswith("-"):
        from trayauth.cli.fast import via_tray

        code = via_tray(args_list[0], args_list[1])
        if code is not None:
            return code
    if args_list and args_list[0] in ("exec", "kube", "git-credential"):
        from trayauth.cli.handoff import fast

        code = fast(args_list, protect=argv is None)
        if code is not None:
            return code
    if argv is None:
        from trayauth.process import not_dumpable

        not_dumpable()  # the direct path reads the vault key: keep same-user ptrace out too
    if args_list == ["--flow-worker"]:
        # The tray's worker for its calls to providers (trayauth.services.flow_process); not a
        # command a user runs, so not in the parser's help either.
        from trayauth.services.flow_worker import worker_main

        return worker_main()
    if not args_list:
        # `trayauth`: the tray, as `trayauth-tray` starts it. Not through the parser and the
        # commands' runner: what they import would stay resident in a process that runs all day.
        from trayauth.cli import tray

        return tray.start()
    import argparse

    parser = _parser()
    assert isinstance(parser, argparse.ArgumentParser)
    args = parser.parse_args(args_list)
    from trayauth.cli.run import run

    if args.command in (None, "demo"):
        from trayauth.cli import tray  # Qt: only to start the tray

        return run(args, tray.cmd_demo) if args.command == "demo" else tray.start()
    return run(args)


def debug_enabled() -> bool:
    return os.environ.get("TRAYAUTH_DEBUG", "") not in ("", "0")
