"""Small real servers the integration tests point real tools at.

- :class:`KubeStub`: an HTTPS "Kubernetes API" (self-signed certificate made here) that answers
  ``/version`` only to a bearer token the provider server honours.
- :class:`GitServer`: git's own ``git http-backend`` (CGI) behind an HTTP server that requires
  Basic auth whose password is a token the provider server honours.
- :class:`Resource`: a protected API for the proxy tests: echoes request bodies, streams large
  responses, and answers only to honoured bearer tokens.

Each records the tokens it was shown, so a test can tell a renewal happened.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trayauth test API")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, False, False, False), True
        )  # digitalSignature, keyCertSign
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "api.crt", directory / "api.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


class _Server:
    handler: type[BaseHTTPRequestHandler]

    def __init__(self, provider: Any, vendor: str = "sentiance") -> None:
        self.provider = provider
        self.vendor = vendor
        self.seen: list[str] = []  # tokens shown, in order (accepted or not)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self.handler)
        self.httpd.daemon_threads = True
        self.httpd.app = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def honoured(self, token: str | None) -> bool:
        if token is None:
            return False
        self.seen.append(token)
        return bool(self.provider.check(self.vendor, token))

    def __enter__(self) -> Any:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def app(self) -> Any:
        return self.server.app  # type: ignore[attr-defined]

    def bearer(self) -> str | None:
        value = self.headers.get("Authorization", "")
        return value[7:] if value.startswith("Bearer ") else None

    def reply(self, status: int, body: bytes, ctype: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


# ---- Kubernetes ------------------------------------------------------------------------------


class _KubeHandler(_Quiet):
    def do_GET(self) -> None:
        if not self.app.honoured(self.bearer()):
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "Unauthorized",
                "code": 401,
            }
            self.reply(401, json.dumps(status).encode())
            return
        version = {
            "major": "1",
            "minor": "30",
            "gitVersion": "v1.30.0-trayauth-stub",
            "platform": "linux/amd64",
        }
        self.reply(200, json.dumps(version).encode())


class KubeStub(_Server):
    handler = _KubeHandler

    def __init__(self, provider: Any, directory: Path) -> None:
        super().__init__(provider)
        self.cert, key = self_signed_cert(directory)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


# ---- git ------------------------------------------------------------------------------------


class _GitHandler(_Quiet):
    def _serve(self) -> None:
        auth = self.headers.get("Authorization", "")
        password = None
        if auth.startswith("Basic "):
            user_pass = base64.b64decode(auth[6:]).decode()
            self.app.users.append(user_pass.partition(":")[0])
            password = user_pass.partition(":")[2]
        if not self.app.honoured(password):
            self.reply(401, b"token required\n", "text/plain", WWW_Authenticate='Basic realm="git"')
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else self._chunked()
        path, _, query = self.path.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.app.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "tester",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        out = subprocess.run(
            ["git", "http-backend"], input=body, capture_output=True, env=env, check=False
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.split(b"\r\n"):
            key, _, value = line.decode("latin-1").partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _chunked(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return b""
        data = b""
        while True:
            size = int(self.rfile.readline().strip(), 16)
            if size == 0:
                self.rfile.readline()
                return data
            data += self.rfile.read(size)
            self.rfile.readline()

    do_GET = _serve
    do_POST = _serve


class GitServer(_Server):
    handler = _GitHandler

    def __init__(self, provider: Any, root: Path) -> None:
        super().__init__(provider)
        self.root = root
        self.users: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# ---- a protected API for the proxy ------------------------------------------------------------


class _ResourceHandler(_Quiet):
    def _check(self) -> bool:
        if self.app.honoured(self.bearer()):
            return True
        self.reply(401, b'{"error": "invalid_token"}', WWW_Authenticate='Bearer error="invalid_token"')
        return False

    def do_GET(self) -> None:
        if not self._check():
            return
        if self.path.startswith("/api/stream"):
            # A large body in chunks, so the proxy must stream it rather than hold it.
            chunks = int(self.path.rsplit("=", 1)[-1])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = b"0123456789abcdef" * 4096  # 64 KiB
            for _ in range(chunks):
                self.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path.startswith("/api/redirect"):
            self.reply(302, b"", "text/plain", Location=f"{self.app.url}/api/landed")
            return
        answer = {
            "path": self.path,
            "host": self.headers.get("Host"),
            "method": "GET",
            "accept_encoding": self.headers.get("Accept-Encoding"),
            "user_agent": self.headers.get("User-Agent"),
        }
        self.reply(200, json.dumps(answer).encode())

    def do_POST(self) -> None:
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        length = int(self.headers.get("Content-Length") or 0)
        body = _GitHandler._chunked(self) if chunked else self.rfile.read(length)  # type: ignore[arg-type]
        if self.path.startswith("/auth/"):
            self._token_endpoint(body)
            return
        if not self._check():
            return
        import hashlib

        answer = {
            "path": self.path,
            "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "chunked": chunked,
        }
        self.reply(200, json.dumps(answer).encode())

    def _token_endpoint(self, body: bytes) -> None:
        """This API's host also serves Sentiance's token endpoints: relayed to the provider."""
        import urllib.error
        import urllib.request

        url = self.app.provider.base_url("sentiance") + self.path
        req = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - http to loopback
        req.add_header("Content-Type", self.headers.get("Content-Type", "application/json"))
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback test server
                status, data = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, data = exc.code, exc.read()
        self.reply(status, data)


class Resource(_Server):
    handler = _ResourceHandler

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
