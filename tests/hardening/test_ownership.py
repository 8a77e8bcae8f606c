"""Places another local user controls (issue 9, items 1 and 6).

The tests run as root, so "another user" is uid 65534 (nobody): files are handed to it with
``os.chown``. Each case plants the attack the issue reproduced and checks that trayauth refuses
in one line and sends nothing anywhere.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.hardening.cases import Figures, clear_line
from tests.support.cli import add_account, login, ok, run_cli
from trayauth.demo import ProviderServer
from trayauth.domain.presets import builtin_dir

NOBODY = 65534
NAME = "acct"
TOKEN = "pasted-token-one"

pytestmark = pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to chown")


def _refused(argv: tuple[str, ...], stdin: str = "", *needles: str) -> str:
    result = run_cli(*argv, stdin=stdin)
    assert result.code not in (0, 70), (result.code, result.err)
    line = result.err.strip().splitlines()[-1]
    assert clear_line(line) is None, clear_line(line)
    for needle in needles:
        assert needle in line, line
    return line


def _sentiance(srv: ProviderServer) -> None:
    user = srv.users["sentiance"]
    add_account(NAME, "sentiance", base_url=srv.base_url("sentiance"), username=user["username"])


@pytest.mark.parametrize(
    ("case", "plant", "words"),
    [
        ("config folder mode 0777", lambda root: root.chmod(0o777), "can be changed by other users"),
        ("config folder mode 0770", lambda root: root.chmod(0o770), "can be changed by other users"),
        ("config folder owned by nobody", lambda root: os.chown(root, NOBODY, NOBODY), "another user"),
    ],
)
def test_a_config_folder_someone_else_controls_is_refused(
    isolated: Path, fresh_provider: ProviderServer, figures: Figures, case: str, plant: object, words: str
) -> None:
    with figures.trying(1, case) as outcome:
        srv = fresh_provider
        _sentiance(srv)
        plant(isolated)  # type: ignore[operator]
        before = srv.count("sentiance", "auth/local")
        line = _refused(("login", NAME, "--secret-stdin"), srv.users["sentiance"]["password"] + "\n", words)
        assert srv.count("sentiance", "auth/local") == before, "the password went out"
        _refused(("list",), "", words)
        _refused(("providers",), "", words)
        outcome.text = f"refused in one line ({words}), nothing sent"
        assert line


def _plant_preset(isolated: Path, owner: int | None, file_mode: int, dir_mode: int = 0o700) -> Path:
    presets = isolated / "presets"
    presets.mkdir(mode=0o700, exist_ok=True)
    planted = presets / "sentiance.toml"
    shutil.copy(builtin_dir() / "sentiance.toml", planted)
    planted.chmod(file_mode)
    presets.chmod(dir_mode)
    if owner is not None:
        os.chown(planted, owner, owner)
    return planted


@pytest.mark.parametrize(
    ("case", "owner", "file_mode", "dir_mode", "words"),
    [
        ("preset file owned by nobody", NOBODY, 0o644, 0o700, "another user"),
        ("preset file mode 0666", None, 0o666, 0o700, "can be changed by other users"),
        ("presets folder mode 0777", None, 0o600, 0o777, "can be changed by other users"),
    ],
)
def test_a_planted_preset_is_refused(
    isolated: Path,
    fresh_provider: ProviderServer,
    figures: Figures,
    case: str,
    owner: int | None,
    file_mode: int,
    dir_mode: int,
    words: str,
) -> None:
    with figures.trying(1, case) as outcome:
        srv = fresh_provider
        _sentiance(srv)
        _plant_preset(isolated, owner, file_mode, dir_mode)
        before = srv.count("sentiance", "auth/local")
        line = _refused(("login", NAME, "--secret-stdin"), srv.users["sentiance"]["password"] + "\n", words)
        assert srv.count("sentiance", "auth/local") == before, "the password went out"
        shown = run_cli("providers")
        assert shown.code == 0 and words in shown.err, shown.err  # the others are still listed
        outcome.text = f"refused in one line ({words}), nothing sent"
        assert line


def test_a_user_preset_in_place_of_a_built_in_one_is_said(
    isolated: Path, fresh_provider: ProviderServer, figures: Figures
) -> None:
    with figures.trying(1, "own preset overriding a built-in one") as outcome:
        srv = fresh_provider
        _sentiance(srv)
        planted = _plant_preset(isolated, None, 0o600)
        listed = run_cli("providers")
        assert listed.code == 0
        assert f"your own preset ({planted})" in listed.out and "built-in" in listed.out
        assert "'sentiance'" in listed.err and "in place of the built-in one" in listed.err
        doc = {p["id"]: p for p in json.loads(ok(run_cli("providers", "--json")).out)}
        assert doc["sentiance"]["overrides_builtin"] is True
        assert doc["senseye"]["overrides_builtin"] is False
        result = ok(login(NAME, srv.users["sentiance"]["password"]))
        assert f"your own file {planted}, used in place of the built-in one" in result.err
        outcome.text = "said by providers (text, --json) and login"


@pytest.mark.parametrize(
    ("case", "plant", "words"),
    [
        ("vault.key mode 0644", lambda key: key.chmod(0o644), "can be read by other users"),
        ("vault.key owned by nobody", lambda key: os.chown(key, NOBODY, NOBODY), "another user"),
    ],
)
def test_a_key_file_others_can_read_or_own_is_refused(
    keyfile_home: Path, figures: Figures, case: str, plant: object, words: str
) -> None:
    with figures.trying(1, case) as outcome:
        add_account(NAME, "bearer")
        ok(login(NAME, TOKEN))
        plant(keyfile_home / "vault.key")  # type: ignore[operator]
        line = _refused(("token", NAME), "", words, "vault key file")
        _refused(("list",), "", words)
        outcome.text = f"refused in one line ({words})"
        assert line


def test_logging_in_again_after_moving_the_vault_keeps_its_key(keyfile_home: Path, figures: Figures) -> None:
    """Item 6: the hint "move the vault aside and log in again" must not destroy the moved vault's key."""
    with figures.trying(6, "vault moved aside, logged in again, moved back") as outcome:
        add_account(NAME, "bearer")
        ok(login(NAME, TOKEN))
        first_id = json.loads((keyfile_home / "vault.json").read_text())["vault_id"]
        (keyfile_home / "vault.json").rename(keyfile_home / "vault.json.moved")
        ok(login(NAME, "pasted-token-two"))  # a new vault, with a new key
        second_id = json.loads((keyfile_home / "vault.json").read_text())["vault_id"]
        assert second_id != first_id
        kept = keyfile_home / f"vault.{first_id}.key"
        assert json.loads(kept.read_text())["vault_id"] == first_id
        assert kept.stat().st_mode & 0o077 == 0
        assert ok(run_cli("token", NAME)).out.strip() == "pasted-token-two"
        (keyfile_home / "vault.json").rename(keyfile_home / "vault.json.second")
        (keyfile_home / "vault.json.moved").rename(keyfile_home / "vault.json")
        assert ok(run_cli("token", NAME)).out.strip() == TOKEN  # the moved vault opens again
        outcome.text = "old key kept as vault.<id>.key; both vaults open"
