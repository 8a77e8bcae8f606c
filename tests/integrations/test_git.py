"""``trayauth git-credential`` as the credential helper of the real git, cloning over HTTP from
git's own ``git http-backend`` behind a server that requires the account's token."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integrations.servers import GitServer
from tests.integrations.support import BIN, cli, stored_token


def git(*args: str, cwd: Path, home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def served(provider: Any, tmp_path: Path) -> Any:
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work, home=tmp_path)
    (work / "README").write_text("hello from a protected repo\n")
    git("add", "README", cwd=work, home=tmp_path)
    git("commit", "-q", "-m", "first", cwd=work, home=tmp_path)
    root = tmp_path / "srv"
    root.mkdir()
    git("clone", "-q", "--bare", str(work), str(root / "repo.git"), cwd=tmp_path, home=tmp_path)
    with GitServer(provider, root) as server:
        yield server


def helper_config(tmp_path: Path, server: GitServer, account: str) -> None:
    # The README's line, for this server's URL.
    git(
        "config",
        "--global",
        f"credential.{server.url}.helper",
        f"!trayauth git-credential {account}",
        cwd=tmp_path,
        home=tmp_path,
    )


@pytest.mark.parametrize("tray", [False, True], ids=["no-tray", "tray"])
def test_git_clones_with_the_token_and_renews_after_a_refusal(
    api: str, provider: Any, served: GitServer, tmp_path: Path, request: pytest.FixtureRequest, tray: bool
) -> None:
    if tray:
        request.getfixturevalue("agent")
    helper_config(tmp_path, served, api)
    git("clone", "-q", f"{served.url}/repo.git", "clone", cwd=tmp_path, home=tmp_path)
    assert (tmp_path / "clone" / "README").read_text() == "hello from a protected repo\n"
    first = stored_token(api)
    assert served.seen[-1] == first and served.users[-1] == "oauth2"
    # The server stops honouring the token (it expired on the server's clock). git's fetch is
    # refused, git tells the helper to "erase" it, and that renews it: the next fetch works.
    provider.clock_offset = 10 * 86400
    try:
        refused = git("fetch", "-q", cwd=tmp_path / "clone", home=tmp_path, check=False)
        assert refused.returncode != 0 and "Authentication failed" in refused.stderr
        renewed = stored_token(api)
        assert renewed != first
        git("fetch", "-q", cwd=tmp_path / "clone", home=tmp_path)
        assert served.seen[-1] == renewed
    finally:
        provider.clock_offset = 0


@pytest.mark.parametrize("helper", ["trayauth {}", "trayauth git-credential {}"])
def test_the_short_helper_forms(api: str, served: GitServer, tmp_path: Path, helper: str) -> None:
    """Without '!', git runs `git credential-trayauth …`: the git-credential-trayauth script."""
    git(
        "config",
        "--global",
        f"credential.{served.url}.helper",
        helper.format(api),
        cwd=tmp_path,
        home=tmp_path,
    )
    git("clone", "-q", f"{served.url}/repo.git", "clone", cwd=tmp_path, home=tmp_path)
    assert served.seen[-1] == stored_token(api)


def test_helper_protocol_by_hand(api: str) -> None:
    token = stored_token(api)
    get = cli("git-credential", api, "get", stdin="protocol=https\nhost=git.example.com\n\n")
    assert get.returncode == 0 and get.stdout == f"username=oauth2\npassword={token}\n"
    named = cli("git-credential", api, "get", stdin="protocol=https\nhost=h\nusername=me\n\n")
    assert named.stdout.startswith("username=me\n")
    option = cli(
        "git-credential", "--username", "x-access-token", api, "get", stdin="protocol=https\nhost=h\n\n"
    )
    assert option.returncode == 0 and option.stdout.startswith("username=x-access-token\n")
    assert (
        cli("git-credential", api, "store", stdin=f"protocol=https\nhost=h\npassword={token}\n\n").stdout
        == ""
    )
    plain = cli("git-credential", api, "get", stdin="protocol=http\nhost=git.example.com\n\n")
    assert plain.returncode == 0 and plain.stdout == "" and "plain http" in plain.stderr
    loop = cli("git-credential", api, "get", stdin="protocol=http\nhost=127.0.0.1:8080\n\n")
    assert loop.stdout.endswith(f"password={token}\n")
