"""Who is at the other end of the agent socket: pid and uid from the kernel, exe and command line.

The kernel's answer (SO_PEERCRED on Linux, LOCAL_PEERPID on macOS) cannot be forged by the
client; the executable and command line are then read from /proc. A process that exited before
we looked, or a platform that does not tell, gives a Requester with what is known, and the
consent question says so.
"""

from __future__ import annotations

import os
import socket
import struct
import sys

from trayauth.domain.consent import Requester

MAX_CMDLINE = 8192


def peer_pid_uid(sock: socket.socket) -> tuple[int | None, int | None]:
    """The connecting process's pid and uid, each None where the platform does not tell."""
    so_peercred = getattr(socket, "SO_PEERCRED", None)
    if so_peercred is not None:  # Linux: struct ucred {pid_t pid; uid_t uid; gid_t gid;}
        try:
            raw = sock.getsockopt(socket.SOL_SOCKET, so_peercred, struct.calcsize("3i"))
        except OSError:
            return None, None
        pid, uid, _gid = struct.unpack("3i", raw)
        return (pid or None), int(uid)
    if sys.platform == "darwin":
        sol_local = getattr(socket, "SOL_LOCAL", 0)
        uid = pid = None
        try:  # LOCAL_PEERCRED: struct xucred {u_int cr_version; uid_t cr_uid; ...}
            peercred = getattr(socket, "LOCAL_PEERCRED", 0x001)
            _version, uid = struct.unpack_from(
                "Ii", sock.getsockopt(sol_local, peercred, struct.calcsize("Ii"))
            )
        except OSError:
            uid = None
        try:  # LOCAL_PEERPID = 0x002
            (pid,) = struct.unpack_from("i", sock.getsockopt(sol_local, 0x002, struct.calcsize("i")))
        except OSError:
            pid = None
        return (pid or None), uid
    return None, None


def peer_uid(sock: socket.socket) -> int | None:
    """The connecting process's uid, where the platform tells; None where it cannot."""
    return peer_pid_uid(sock)[1]


def peer_allowed(sock: socket.socket) -> bool:
    """Same user only. Where the uid cannot be read, the 0700 directory is the guard."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return True
    uid = peer_uid(sock)
    return uid is None or uid == getuid()


def requester_of(sock: socket.socket) -> Requester:
    pid, uid = peer_pid_uid(sock)
    return describe_pid(pid, uid)


def describe_pid(pid: int | None, uid: int | None = None) -> Requester:
    """A Requester for ``pid`` with its executable and command line where /proc has them."""
    if not pid:
        return Requester(pid=None, uid=uid)
    exe = ""
    cmdline: tuple[str, ...] = ()
    proc = f"/proc/{pid}"
    if os.path.isdir(proc):
        try:
            exe = os.readlink(f"{proc}/exe")
        except OSError:
            # A process that made itself non-dumpable (ssh does; so does trayauth's own direct path)
            # hides its exe from other processes of the same user. Its name is still there.
            exe = ""
            try:
                with open(f"{proc}/comm", "rb") as f:
                    name = f.read(64).decode("utf-8", "replace").strip()
            except OSError:
                name = ""
            return Requester(pid=pid, uid=uid, exe="", cmdline=_cmdline(proc), name=name)
        cmdline = _cmdline(proc)
    return Requester(pid=pid, uid=uid, exe=exe, cmdline=cmdline)


def _cmdline(proc: str) -> tuple[str, ...]:
    try:
        with open(f"{proc}/cmdline", "rb") as f:
            raw = f.read(MAX_CMDLINE)
    except OSError:
        return ()
    return tuple(a.decode("utf-8", "replace") for a in raw.rstrip(b"\0").split(b"\0") if raw)
