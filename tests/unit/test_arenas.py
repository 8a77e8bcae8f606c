"""The tray's allocator keeps to two malloc arenas (glibc): a fresh interpreter starts eight
threads that each allocate, and glibc's own report (``malloc_info``) counts the arenas."""

from __future__ import annotations

import ctypes
import sys

import pytest

from tests.support.probe import report, run_probe
from trayauth import arenas

PROBE = """
import ctypes, json, os, sys, tempfile, threading
from trayauth.arenas import limit_arenas

took = limit_arenas() if sys.argv[1] == "limit" else None
ready, go = threading.Barrier(9), threading.Event()
kept = []

def allocate():
    kept.append([bytearray(4096) for _ in range(64)])  # above pymalloc's size: from malloc
    ready.wait()
    go.wait()

threads = [threading.Thread(target=allocate) for _ in range(8)]
for t in threads:
    t.start()
ready.wait()  # all eight hold their memory at once
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
with tempfile.NamedTemporaryFile(suffix=".xml") as out:
    fp = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(fp))
    libc.fclose(ctypes.c_void_p(fp))
    arenas = open(out.name).read().count("<heap nr=")
go.set()
for t in threads:
    t.join()
print(json.dumps({"took": took, "arenas": arenas}))
"""


def _glibc() -> bool:
    return sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "gnu_get_libc_version")


@pytest.mark.skipif(not _glibc(), reason="malloc arenas are glibc's")
def test_the_trays_threads_share_two_arenas() -> None:
    unlimited = report(run_probe(PROBE, "free").stdout)
    limited = report(run_probe(PROBE, "limit").stdout)
    assert unlimited["arenas"] > 2  # the probe does see each thread's arena
    assert limited["took"] is True and limited["arenas"] <= 2


def test_elsewhere_it_says_it_did_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert arenas.limit_arenas() is False
