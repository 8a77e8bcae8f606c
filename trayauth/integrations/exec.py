"""``trayauth exec`` and ``trayauth env``: the token in an environment variable, never in argv.

``exec`` replaces itself with the command (``execvpe``), as aws-vault and ``op run`` do: the
command gets our pid, so the terminal's signals reach it directly and its exit status is ours,
with nothing in between to forward them. Where there is no exec (Windows) the command runs as a
child and its exit status is passed on.
"""

from __future__ import annotations

import os
import re
import sys

from trayauth.domain.text import header_line
from trayauth.integrations import bad_argument

TYPE_CHECKING = False  # not typing's: on the CLI's fast path
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

DEFAULT_VAR = "TRAYAUTH_TOKEN"
HEADER_VAR = "TRAYAUTH_HEADER"
SHELLS = ("sh", "fish", "powershell")
_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def check_var(var: str) -> str:
    if not _VAR.fullmatch(var):
        raise bad_argument(f"--env {var!r} is not a variable name (letters, digits and '_')")
    return var


def variables(token: str, var: str = DEFAULT_VAR, token_type: str = "Bearer") -> dict[str, str]:
    """What ``exec`` puts into the command's environment."""
    return {check_var(var): token, HEADER_VAR: header_line(token, token_type)}


def run(command: Sequence[str], extra: Mapping[str, str]) -> int:
    """Run ``command`` with ``extra`` in its environment; on POSIX this does not return."""
    if not command:
        raise bad_argument("no command given", usage="exec")
    env = {**os.environ, **extra}
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        try:
            os.execvpe(command[0], list(command), env)  # noqa: S606 - the user's own command
        except FileNotFoundError:
            print(f"trayauth: {command[0]}: command not found", file=sys.stderr)
            return 127
        except PermissionError:
            print(f"trayauth: {command[0]}: permission denied", file=sys.stderr)
            return 126
        except OSError as exc:
            print(f"trayauth: {command[0]}: {exc.strerror or exc.__class__.__name__}", file=sys.stderr)
            return 126
    import subprocess

    try:
        return subprocess.call(list(command), env=env)  # noqa: S603 - the user's own command
    except FileNotFoundError:
        print(f"trayauth: {command[0]}: command not found", file=sys.stderr)
        return 127
    except KeyboardInterrupt:
        return 130


def export_lines(values: Mapping[str, str], shell: str = "sh") -> str:
    """Lines that set ``values`` in ``shell``, for ``eval "$(trayauth env NAME)"``."""
    if shell == "sh":
        return "".join(f"export {k}={_sh_quote(v)}\n" for k, v in values.items())
    if shell == "fish":
        return "".join(f"set -gx {k} {_fish_quote(v)}\n" for k, v in values.items())
    if shell == "powershell":
        return "".join(f"$env:{k} = {_ps_quote(v)}\n" for k, v in values.items())
    raise bad_argument(f"unknown shell {shell!r}", choices=SHELLS)


def _sh_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _fish_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ps_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
