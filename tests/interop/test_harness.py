"""The interop suite's own rule: a missing server or browser skips on a laptop, fails in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.browser import chromium_path
from tests.interop.servers import missing, node_for, start_oidc_provider

pytestmark = pytest.mark.interop


def test_missing_tool_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"node is not installed \(apt-get install nodejs npm\)"):
        missing("node", "apt-get install nodejs npm")


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_missing_tool_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI must run the interop suite"):
        missing("node", "apt-get install nodejs npm")


def test_no_oidc_provider_fails_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"oidc-provider is not installed \(npm ci --prefix"):
        start_oidc_provider(tmp_path / "server.log", directory=tmp_path)


def test_no_node_fails_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="node is not installed"):
        node_for(tmp_path)


def test_old_node_skips_locally(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Debian bookworm's Node 18 cannot run oidc-provider 9: say so instead of failing mid-test."""
    fake = tmp_path / "node"
    fake.write_text("#!/bin/sh\necho 18.20.4\n")
    fake.chmod(0o755)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match=r"\(>= 20.18; .*node is 18.20.4\)"):
        node_for(tmp_path)


def test_chromium_is_found_where_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRAYAUTH_CHROMIUM", str(tmp_path / "nothing-here"))
    assert chromium_path() is None
    monkeypatch.delenv("TRAYAUTH_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert chromium_path() is None
