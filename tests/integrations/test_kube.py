"""``trayauth kube`` as the exec credential plugin of the real kubectl, against an HTTPS API stub.

The stub answers ``/version`` only to a bearer token the provider server honours now; kubectl
trusts its self-signed certificate through the kubeconfig, and runs ``trayauth kube api`` (the
installed console script) for the token, as it would for any exec plugin.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integrations.servers import KubeStub
from tests.integrations.support import TRAYAUTH, cli, stored_token
from tests.support.cli import expire_now

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


def exec_api_version() -> str:
    """v1 from kubectl 1.22 on; Debian's older kubernetes-client speaks only v1beta1."""
    out = subprocess.run(["kubectl", "version", "--client", "-o", "json"], capture_output=True, text=True)
    minor = int(re.sub(r"\D.*", "", json.loads(out.stdout)["clientVersion"]["minor"]))
    return "client.authentication.k8s.io/v1" if minor >= 22 else "client.authentication.k8s.io/v1beta1"


def kubeconfig(path: Path, stub: KubeStub, account: str) -> Path:
    api_version = exec_api_version()
    user: dict[str, Any] = {"apiVersion": api_version, "command": TRAYAUTH, "args": ["kube", account]}
    if api_version.endswith("/v1"):
        user["interactiveMode"] = "Never"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "stub", "cluster": {"server": stub.url, "certificate-authority": str(stub.cert)}}
        ],
        "users": [{"name": "tray", "user": {"exec": user}}],
        "contexts": [{"name": "stub", "context": {"cluster": "stub", "user": "tray"}}],
        "current-context": "stub",
    }
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def kubectl(config: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(config), "HOME": str(home)}
    return subprocess.run(
        ["kubectl", "get", "--raw", "/version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("tray", [False, True], ids=["no-tray", "tray"])
def test_kubectl_uses_the_account_and_its_renewal(
    api: str, provider: Any, tmp_path: Path, request: pytest.FixtureRequest, tray: bool
) -> None:
    if tray:
        request.getfixturevalue("agent")
    with KubeStub(provider, tmp_path) as stub:
        config = kubeconfig(tmp_path / "kubeconfig", stub, api)
        first = kubectl(config, tmp_path)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["gitVersion"] == "v1.30.0-trayauth-stub"
        assert set(stub.seen) == {stored_token(api)}
        # The credential expires: the next kubectl run gets the renewed token from trayauth.
        old = expire_now(api)
        second = kubectl(config, tmp_path)
        assert second.returncode == 0, second.stderr
        assert stub.seen[-1] == stored_token(api) != old


def test_kubectl_reports_a_refused_token(api: str, provider: Any, tmp_path: Path) -> None:
    with KubeStub(provider, tmp_path) as stub:
        config = kubeconfig(tmp_path / "kubeconfig", stub, "no-such-account")
        result = kubectl(config, tmp_path)
        assert result.returncode != 0
        assert "no account named 'no-such-account'" in result.stderr  # the plugin's own line


def test_exec_credential_shape(api: str) -> None:
    result = cli("kube", api)
    assert result.returncode == 0, result.stderr
    cred = json.loads(result.stdout)
    assert cred["apiVersion"] == "client.authentication.k8s.io/v1" and cred["kind"] == "ExecCredential"
    assert cred["status"]["token"] == stored_token(api)
    expiry = (
        time.mktime(time.strptime(cred["status"]["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ"))
        - time.timezone
    )
    assert time.time() < expiry  # before the token's own expiry less the renewal margin
    beta = cli(
        "kube",
        api,
        env={"KUBERNETES_EXEC_INFO": json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1"})},
    )
    assert json.loads(beta.stdout)["apiVersion"] == "client.authentication.k8s.io/v1beta1"


def test_exec_credential_expiration_is_the_renewal_moment() -> None:
    from trayauth.integrations.kube import exec_credential

    cred = json.loads(exec_credential("t", 1_000_000.0 + 3600, now=1_000_000.0))
    assert cred["status"]["expirationTimestamp"] == time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_000_000 + 3540)
    )
    assert "expirationTimestamp" not in json.loads(exec_credential("t", None))["status"]
