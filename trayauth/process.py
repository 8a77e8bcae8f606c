"""What this process allows the OS to reveal of it: no core dumps, no same-user ptrace on Linux.

A crashed tray or CLI holds access tokens, refresh tokens and the vault key in memory; a core
file (``ulimit -c unlimited`` and a SIGSEGV) writes all of them to disk in the clear. So both turn
core dumps off for themselves at start: ``RLIMIT_CORE`` to 0 (soft and hard, so nothing in the
process can raise it again), and on Linux ``PR_SET_DUMPABLE`` 0, which also covers core handlers
that are pipes (systemd-coredump, apport) and keeps other processes of the same user from
reading our memory through ptrace or /proc/<pid>/mem.

The agent's peer check is unaffected: SO_PEERCRED reports the peer's credentials whatever its
dumpable flag, and a non-dumpable tray still accepts its user's CLI (tests/hardening/test_process).
"""

from __future__ import annotations

import contextlib
import ctypes
import sys

if sys.platform != "win32":
    import resource

_PR_SET_DUMPABLE = 4  # <linux/prctl.h>


def no_core_files() -> None:
    """RLIMIT_CORE (0, 0); a no-op where the platform has no such limit."""
    if sys.platform == "win32":  # no such limit
        return
    with contextlib.suppress(ValueError, OSError):  # a sandbox that forbids it: nothing more to do
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def not_dumpable() -> None:
    """prctl(PR_SET_DUMPABLE, 0) on Linux; elsewhere RLIMIT_CORE is what there is."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def forbid_core_dumps() -> None:
    no_core_files()
    not_dumpable()
