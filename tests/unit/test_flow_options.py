"""Preset options are typed and checked when the preset file loads (issue 8 item 3, issue 9 item 13)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from trayauth.domain.errors import PresetError
from trayauth.domain.options import OAuthOptions, StaticOptions, StepsOptions
from trayauth.domain.presets import PresetCatalog, builtin_dir

OAUTH_HEAD = """id = "mine"
flow = "authorization_code"
renew = "refresh"
[[fields]]
key = "client_id"
required = true
[options]
"""


def user_preset(tmp_path: Path, options: str, head: str = OAUTH_HEAD) -> PresetCatalog:
    folder = tmp_path / "presets"
    folder.mkdir(exist_ok=True)
    (folder / "mine.toml").write_text(head + options, encoding="utf-8")
    return PresetCatalog(folder)


@pytest.mark.parametrize(
    ("options", "key", "wants"),
    [
        ('pkce = "false"', "options.pkce", "true or false"),
        ('verify_id_token = "no"', "options.verify_id_token", "true or false"),
        ("timeout = 1e308", "options.timeout", "at most 3600"),
        ("timeout = inf", "options.timeout", "at most 3600"),
        ("timeout = nan", "options.timeout", "at most 3600"),
        ("timeout = -5", "options.timeout", "more than 0"),
        ("timeout = true", "options.timeout", "a number of seconds"),
        ("code_lifetime = 0", "options.code_lifetime", "more than 0"),
        ('client_auth = "private_key_jwt"', "options.client_auth", "one of auto"),
        ('authorize_params = "prompt=consent"', "options.authorize_params", "a table"),
        ("authorize_params = { prompt = [1] }", "options.authorize_params.prompt", "a string"),
        ("issuer_aliases = [1]", "options.issuer_aliases", "a list of strings"),
        ("pcke = true", "options.pcke", None),
    ],
)
def test_a_bad_option_fails_at_load_naming_file_and_key(
    tmp_path: Path, options: str, key: str, wants: str | None
) -> None:
    catalog = user_preset(tmp_path, options)
    with pytest.raises(PresetError) as caught:
        catalog.get("mine")
    message = caught.value.message
    assert "mine.toml" in message and key in message, message
    if wants is None:
        assert "unknown option" in message
    else:
        assert wants in message


def test_the_string_false_is_never_true(tmp_path: Path) -> None:
    """The bug the issue names: ``bool("false")`` is True. Typed, "false" is refused, false is false."""
    with pytest.raises(PresetError, match="trust_token_claims"):
        user_preset(
            tmp_path,
            'trust_token_claims = "false"\n[[options.login]]\nurl = "{base_url}/x"\n',
            head='id = "mine"\nflow = "steps"\n[options]\n',
        ).get("mine")
    steps = user_preset(
        tmp_path,
        'trust_token_claims = false\n[[options.login]]\nurl = "{base_url}/x"\n',
        head='id = "mine"\nflow = "steps"\n[options]\n',
    ).get("mine")
    assert isinstance(steps.options, StepsOptions) and steps.options.trust_token_claims is False


def test_good_options_come_typed(tmp_path: Path) -> None:
    preset = user_preset(
        tmp_path,
        'pkce = false\ntimeout = 90\nclient_auth = "client_secret_basic"\n'
        'authorize_params = { access_type = "offline", max_age = 0 }\n',
    ).get("mine")
    options = preset.oauth
    assert options.pkce is False and options.timeout == 90.0 and math.isfinite(options.timeout)
    assert options.client_auth == "client_secret_basic"
    assert dict(options.authorize_params) == {"access_type": "offline", "max_age": "0"}
    assert options.offline_consent is True and options.revoke is True


def test_steps_presets_check_their_requests_at_load(tmp_path: Path) -> None:
    head = 'id = "mine"\nflow = "steps"\nrenew = "refresh"\n[options]\n'
    with pytest.raises(PresetError, match=r"options.login\[0\].url is missing"):
        user_preset(tmp_path, "[[options.login]]\nmethod = 'POST'\n", head=head).get("mine")
    with pytest.raises(PresetError, match=r"needs an \[options.refresh\]"):
        user_preset(tmp_path, "[[options.login]]\nurl = 'https://x/y'\n", head=head).get("mine")
    with pytest.raises(PresetError, match=r"capture\.code must be a JSON pointer"):
        user_preset(
            tmp_path, "[[options.login]]\nurl = 'https://x/y'\ncapture = { code = 'code' }\n", head=head
        ).get("mine")


@pytest.mark.parametrize("path", sorted(builtin_dir().glob("*.toml")), ids=lambda p: p.stem)
def test_every_built_in_preset_loads_typed(path: Path) -> None:
    preset = PresetCatalog().get(path.stem)
    expected = {"static": StaticOptions, "steps": StepsOptions}.get(preset.flow, OAuthOptions)
    assert isinstance(preset.options, expected)
