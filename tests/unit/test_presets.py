from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trayauth.domain.errors import PresetError, UsageError
from trayauth.domain.presets import PresetCatalog, parse_preset

ALL = [
    "sentiance",
    "sentiance-token",
    "senseye",
    "senseye-machine",
    "sensos",
    "attentive",
    "attentive-oauth",
    "amino",
    "oauth2",
    "oauth2-password",
    "oauth2-client-credentials",
    "oauth2-device",
    "bearer",
]


def test_every_design_preset_is_shipped_and_valid() -> None:
    presets, errors = PresetCatalog().all()
    assert errors == []
    assert set(ALL) <= {p.id for p in presets}


@pytest.mark.parametrize("pid", ALL)
def test_every_preset_has_base_or_issuer_and_a_schema(pid: str) -> None:
    preset = PresetCatalog().get(pid)
    keys = {f.key for f in preset.fields}
    assert keys & {"base_url", "issuer", "token_url"}
    for f in preset.fields:
        assert f.label
        if f.secret:
            assert not f.default


def test_user_preset_overrides_and_extends(tmp_path: Path) -> None:
    (tmp_path / "acme.toml").write_text(
        'id = "acme"\nlabel = "ACME"\nflow = "static"\nrenew = "none"\n'
        '[[fields]]\nkey = "token"\nlabel = "Token"\nkind = "secret"\nrequired = true\n'
    )
    catalog = PresetCatalog(tmp_path)
    assert catalog.get("acme").label == "ACME"
    assert "acme" in catalog.ids()


def test_broken_user_preset_is_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("id = [")
    presets, errors = PresetCatalog(tmp_path).all()
    assert presets
    assert len(errors) == 1 and "bad.toml" in errors[0].message


def test_unknown_preset_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown preset"):
        PresetCatalog().get("nope")


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"id": "X Y", "flow": "static"},
        {"id": "a", "flow": "teleport"},
        {"id": "a", "flow": "static", "renew": "sometimes"},
        {"id": "a", "flow": "static", "fields": [{"key": "p", "secret": True, "default": "x"}]},
        {"id": "a", "flow": "static", "fields": "nope"},
    ],
)
def test_malformed_presets(data: dict[str, object]) -> None:
    with pytest.raises(PresetError):
        parse_preset(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(st.sampled_from(["id", "flow", "renew", "fields", "label", "options"]), json_values))
def test_preset_parser_only_raises_its_own_errors(data: dict[str, object]) -> None:
    with contextlib.suppress(PresetError):
        parse_preset(data)


def test_descriptions_and_help_are_in_a_users_words_not_keys_or_wire_fields() -> None:
    """The Add dialog shows them: no config key (``token_url``), no response field
    (``expires_at_timestamp``), no request line (``GET /v1/me``), no URL template (``{issuer}``).
    Scope values users type (``offline_access``) are words they need."""
    presets, errors = PresetCatalog().all()
    assert not errors
    keys = {f.key for p in presets for f in p.fields if "_" in f.key}  # "password" is also a word
    wire = {"expires_at_timestamp", "access_token", "refresh_token", "expires_in", "token_type"}
    wire |= {"access_type"}
    pattern = re.compile(r"\b(" + "|".join(sorted(keys | wire)) + r")\b|\{|\b(GET|POST) /")
    for preset in presets:
        texts = [preset.description, *(f.help for f in preset.fields)]
        for text in texts:
            found = pattern.search(text)
            assert found is None, f"{preset.id}: {found.group(0) if found else ''!r} in {text!r}"
