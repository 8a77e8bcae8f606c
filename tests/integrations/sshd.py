"""A real OpenSSH server on a loopback port with a throwaway host key and user key.

It runs as the test's own user (root in CI and here: sshd needs it to switch to the user), with
its own config: key login only, no PAM, unix-socket forwarding allowed. :meth:`Sshd.run` is
``ssh -R REMOTE:LOCAL host COMMAND``: the command runs "on the remote machine" with the laptop's
agent socket forwarded to REMOTE, exactly as a developer's ssh session would.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def available() -> bool:
    return os.path.exists(SSHD) and shutil.which("ssh") is not None and shutil.which("ssh-keygen") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sshd:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(mode=0o700, exist_ok=True)
        self.host_key = self.dir / "host_ed25519"
        self.user_key = self.dir / "id_ed25519"
        for key in (self.host_key, self.user_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        (self.dir / "authorized_keys").write_text(Path(f"{self.user_key}.pub").read_text())
        self.port = _free_port()
        host_pub = Path(f"{self.host_key}.pub").read_text().split()[:2]
        (self.dir / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {' '.join(host_pub)}\n")
        (self.dir / "sshd_config").write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.host_key}",
                    f"PidFile {self.dir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
                    "StrictModes no",
                    "UsePAM no",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "PermitRootLogin prohibit-password",
                    "AllowStreamLocalForwarding yes",
                    "StreamLocalBindUnlink yes",
                    "StreamLocalBindMask 0177",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Sshd:
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.dir / "sshd_config")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(500):  # until it listens (or exits: then say why)
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"sshd exited: {err}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.02)
        raise RuntimeError("sshd did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()

    def ssh_args(self, *extra: str) -> list[str]:
        return [
            "ssh", "-F", "none", "-p", str(self.port), "-i", str(self.user_key),
            "-o", "IdentitiesOnly=yes", "-o", f"UserKnownHostsFile={self.dir / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
            "-o", "LogLevel=ERROR", *extra,
        ]  # fmt: skip

    def run(
        self, remote_command: str, *, forward: tuple[str, str] | None = None, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        extra = ["-R", f"{forward[0]}:{forward[1]}"] if forward else []
        argv = [*self.ssh_args(*extra), "root@127.0.0.1", remote_command]
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120, check=False)
