"""README's "Use your tokens in…" examples, run as written: only host names (and the ssh
socket paths) are swapped for the local servers', the account is the README's ``work``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integrations import sshd
from tests.integrations.servers import GitServer, KubeStub, Resource
from tests.integrations.support import BIN, Agent, stored_token
from tests.support.cli import REPO, add_account, login, ok

API = "https://api.example.com"
GIT = "https://git.example.com"


def readme_blocks() -> list[tuple[str, str]]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Use your tokens in…", 1)[1].split("\n## ", 1)[0]
    return [(m[1], m[2]) for m in re.finditer(r"```(\w*)\n(.*?)```", section, re.S)]


BLOCKS = readme_blocks()


def block(lang: str, containing: str) -> str:
    found = [text for kind, text in BLOCKS if kind == lang and containing in text]
    assert len(found) == 1, f"README has no single {lang} block with {containing!r}"
    return found[0]


def line(lang: str, starting: str) -> str:
    for kind, text in BLOCKS:
        for ln in text.splitlines():
            if kind == lang and ln.startswith(starting):
                return ln
    raise AssertionError(f"README has no {lang} line starting {starting!r}")


@pytest.fixture
def work(isolated: Path, fresh_provider: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The README's account "work" on a local API; a shell environment that finds trayauth."""
    with Resource(fresh_provider) as res:
        user = fresh_provider.users["sentiance"]
        add_account("work", "sentiance", base_url=res.url, username=user["username"])
        ok(login("work", user["password"]))
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path)}
        yield {"res": res, "env": env, "srv": fresh_provider, "dir": tmp_path}


def sh(command: str, ctx: dict[str, Any], **kw: Any) -> subprocess.CompletedProcess[str]:
    local = command.replace(API, ctx["res"].url)
    return subprocess.run(
        ["sh", "-c", local], env=ctx["env"], cwd=ctx["dir"], capture_output=True, text=True, timeout=120, **kw
    )


@pytest.mark.parametrize("tray", [False, True], ids=["no-tray", "tray"])
def test_curl_httpie_exec_env(work: dict[str, Any], request: pytest.FixtureRequest, tray: bool) -> None:
    if tray:
        request.getfixturevalue("agent")
    token = stored_token("work")
    curl = sh(line("sh", "trayauth header work | curl"), work)
    assert curl.returncode == 0 and json.loads(curl.stdout)["path"] == "/v1/me", curl.stderr
    assert work["res"].seen[-1] == token
    deploy = work["dir"] / "deploy.sh"
    deploy.write_text('#!/bin/sh\nprintf "%s|%s" "$TRAYAUTH_TOKEN" "$TRAYAUTH_HEADER"\n')
    deploy.chmod(0o700)
    ran = sh(line("sh", "trayauth exec work -- ./deploy.sh"), work)
    assert ran.stdout == f"{token}|Authorization: Bearer {token}", ran.stderr
    httpie = sh(line("sh", "trayauth exec work -- sh -c 'http"), work)  # HTTPie: a test extra
    assert httpie.returncode == 0 and json.loads(httpie.stdout)["path"] == "/v1/me", httpie.stderr
    evald = sh(line("sh", 'eval "$(trayauth env work)"') + '\nprintf %s "$TRAYAUTH_TOKEN"', work)
    assert evald.stdout == token


def test_python_examples(work: dict[str, Any], agent: Agent) -> None:
    for snippet in (block("python", "httpx"), block("python", "requests")):
        code = snippet.replace(API, work["res"].url)
        result = subprocess.run(
            [sys.executable, "-c", code],
            env=work["env"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "'/v1/me'" in result.stdout
    assert agent.server.requests == 2


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubeconfig_example(work: dict[str, Any]) -> None:
    from tests.integrations.test_kube import exec_api_version

    users = block("yaml", "client.authentication.k8s.io/v1")
    users = users.replace("client.authentication.k8s.io/v1", exec_api_version())
    if exec_api_version().endswith("v1beta1"):
        users = users.replace("      interactiveMode: Never\n", "")
    with KubeStub(work["srv"], work["dir"]) as stub:
        config = work["dir"] / "kubeconfig"
        config.write_text(
            "apiVersion: v1\nkind: Config\n"
            + users
            + f"clusters:\n- name: local\n  cluster:\n    server: {stub.url}\n"
            + f"    certificate-authority: {stub.cert}\n"
            + "contexts:\n- name: local\n  context: {cluster: local, user: work}\ncurrent-context: local\n"
        )
        env = {**work["env"], "KUBECONFIG": str(config)}
        result = subprocess.run(
            ["kubectl", "get", "--raw", "/version"], env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert stub.seen[-1] == stored_token("work")


def test_git_example(work: dict[str, Any]) -> None:
    root = work["dir"] / "srv"
    (root / "team").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "--bare", str(root / "team" / "repo.git")], check=True)
    with GitServer(work["srv"], root) as server:
        for command in block("sh", "git config").strip().splitlines():
            result = sh(command.replace(GIT, server.url), work)
            assert result.returncode == 0, result.stderr
        assert (work["dir"] / "repo").is_dir()  # an empty repository, cloned
        assert server.seen[-1] == stored_token("work")


def test_proxy_example_for_a_graphql_explorer(work: dict[str, Any]) -> None:
    start, query = block("sh", "trayauth proxy work").strip().splitlines()
    proc = subprocess.Popen(
        ["sh", "-c", "exec " + start.split("#")[0]],
        env=work["env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        result = sh(query.replace("http://127.0.0.1:PORT/CAPABILITY/", url), work)
        answer = json.loads(result.stdout)
        assert answer["path"] == "/graphql" and answer["size"] == len('{"query": "{ me { id } }"}')
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


@pytest.mark.skipif(not sshd.available(), reason="openssh-server is not installed")
def test_ssh_example(work: dict[str, Any], agent: Agent) -> None:
    forward = block("", "RemoteForward").strip().splitlines()[1].split(None, 1)[1]
    remote_dir = Path(f"/tmp/ta-readme-{os.getpid()}")
    server = sshd.Sshd(remote_dir).start()
    try:
        # The README's RemoteForward, with the tray's real socket and a private remote directory.
        forward = forward.replace("/tmp/", f"{remote_dir}/")
        forward = forward.replace("/run/user/1000/trayauth/agent.sock", agent.socket)
        commands = block("sh", "TRAYAUTH_AGENT").replace("/tmp/", f"{remote_dir}/")
        setup = f"PATH={BIN}:/usr/bin:/bin; export TRAYAUTH_CONFIG_DIR={remote_dir / 'empty'}"
        remote = f"{setup}\n{commands}"
        argv = [*server.ssh_args("-o", f"RemoteForward {forward}"), "root@127.0.0.1", remote]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        assert result.stdout == stored_token("work") + "\n", result.stderr
    finally:
        server.stop()
        shutil.rmtree(remote_dir, ignore_errors=True)
