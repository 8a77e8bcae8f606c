"""A long-running process's allocator: at most two malloc arenas (glibc).

glibc gives each thread that allocates its own arena, up to eight per core, and keeps it for the
life of the process. The tray is idle nearly all day, yet its threads come and go: the vault
writes off the event loop, the child watcher of each renewal worker, the agent's socket thread,
Qt's own. Each left an arena behind, about 0.8 MiB in all once the first renewals had run
(``tests/benchmarks/bench_tray.py``), a tenth of what the tray holds beyond a bare Qt tray.
Two arenas are plenty for a process whose threads rarely allocate at the same moment.

Where the C library is not glibc (macOS, Windows, musl), there is nothing to set.
"""

from __future__ import annotations

import ctypes
import sys

M_ARENA_MAX = -8  # <malloc.h>
TRAY_ARENAS = 2


def limit_arenas(count: int = TRAY_ARENAS) -> bool:
    """``mallopt(M_ARENA_MAX, count)``; True where glibc took it. Call it before threads start:
    an arena already made stays."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):
            return False  # musl and others: their mallopt has no such option
        return bool(libc.mallopt(M_ARENA_MAX, count))
    except (OSError, AttributeError):
        return False
