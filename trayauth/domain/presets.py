"""Provider presets: data files, not classes.

A preset is one TOML file naming its flow, how it renews, and the field schema that both the CLI
prompts and the tray's dialogs are generated from. Built-in presets live in the package's
``resources/presets``; a user drops their own in ``<config dir>/presets`` (same format) and it
wins over a built-in of the same id. Loading one preset reads one file: the CLI's fast path must
not parse every preset.

The flow is named either as ``flow = "steps"`` with its options in an ``[options]`` table, or as a
``[flow]`` table with ``name = "steps"`` beside the options.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from trayauth.domain.errors import PresetError, TrayauthError, UnsafeLocation, UsageError
from trayauth.domain.options import OAuthOptions, Options, StaticOptions, StepsOptions, parse_options
from trayauth.domain.steps import NextStep, StepKind

RENEW_MODES = ("refresh", "relogin", "none")
# The flow modules (trayauth.flows.<name>); listed here so loading a preset imports no flow code.
FLOWS = ("static", "steps", "authorization_code", "oauth_password", "client_credentials", "device_code")
FIELD_KINDS = ("text", "url", "secret", "scopes")
TOKEN_FORMATS = ("auto", "jwt", "paseto", "opaque")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

Renew = Literal["refresh", "relogin", "none"]


@dataclass(frozen=True, slots=True)
class Field:
    """One input of a preset: a setting (kept in the config file) or a secret (kept in the vault)."""

    key: str
    label: str
    kind: str = "text"
    secret: bool = False
    required: bool = False
    default: str = ""
    help: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "kind": self.kind,
            "secret": self.secret,
            "required": self.required,
            "default": self.default,
            "help": self.help,
        }


@dataclass(frozen=True, slots=True)
class Preset:
    id: str
    label: str
    flow: str
    renew: Renew
    fields: tuple[Field, ...]
    description: str = ""
    keep_secrets: bool = False
    token_format: str = "auto"
    options: Options = field(default_factory=StaticOptions)
    source: str = "built-in"
    # A user's own preset file that takes the place of the built-in preset of the same id: said
    # wherever the preset is shown, since a planted one would send credentials elsewhere.
    overrides_builtin: bool = False

    def field(self, key: str) -> Field | None:
        for f in self.fields:
            if f.key == key:
                return f
        return None

    @property
    def setting_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.secret)

    @property
    def secret_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.secret)

    def missing_settings(self, settings: Mapping[str, str]) -> tuple[str, ...]:
        """The required settings ``settings`` lacks; a field's default counts as given. The one
        rule for `add`, login and the login window."""
        return tuple(
            f.key for f in self.setting_fields if f.required and not f.default and not settings.get(f.key)
        )

    def check_settings(self, name: str, settings: Mapping[str, str]) -> None:
        """UsageError naming what account ``name`` lacks, with SET_SETTING as the next step."""
        missing = self.missing_settings(settings)
        if missing:
            raise UsageError(
                f"{name} lacks required settings: {', '.join(missing)}",
                account=name,
                named=True,
                next_step=NextStep.set_setting(name, self.id, missing),
            )

    @property
    def oauth(self) -> OAuthOptions:
        """The options of an OAuth flow; a PresetError for a preset of another flow."""
        if not isinstance(self.options, OAuthOptions):
            raise PresetError(f"preset {self.id!r} ({self.source}) is not an OAuth preset")
        return self.options

    @property
    def interactive(self) -> bool:
        """Whether logging in needs a browser or a device code, not just typed secrets."""
        return self.flow in ("authorization_code", "device_code")

    @property
    def pasted(self) -> bool:
        """Whether the token is one the user pastes: nothing signs in or renews it, and a new one
        is had only by pasting it (the GUI says "Paste a new token…", never "Log in again")."""
        return self.flow == "static"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "description": self.description,
            "flow": self.flow,
            "renew": self.renew,
            "keep_secrets": self.keep_secrets,
            "token_format": self.token_format,
            "source": self.source,
            "overrides_builtin": self.overrides_builtin,
            "fields": [f.to_json() for f in self.fields],
        }


def builtin_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "resources" / "presets"


def _str(data: Mapping[str, Any], key: str, where: str, *, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        if value is None:
            raise PresetError(f"{where}: missing {key!r}")
        raise PresetError(f"{where}: {key!r} must be a string")
    return value


def _bool(data: Mapping[str, Any], key: str, where: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise PresetError(f"{where}: {key!r} must be true or false")
    return value


def _parse_field(raw: Any, where: str) -> Field:
    if not isinstance(raw, dict):
        raise PresetError(f"{where}: each [[fields]] entry must be a table")
    key = _str(raw, "key", where)
    if not _KEY_RE.match(key):
        raise PresetError(f"{where}: field key {key!r} must be lower-case letters, digits, _")
    secret = _bool(raw, "secret", where)
    kind = _str(raw, "kind", where, default="secret" if secret else "text")
    if kind not in FIELD_KINDS:
        raise PresetError(f"{where}: field {key!r} has unknown kind {kind!r}")
    if kind == "secret":
        secret = True
    default = _str(raw, "default", where, default="")
    if secret and default:
        raise PresetError(f"{where}: secret field {key!r} cannot have a default")
    return Field(
        key=key,
        label=_str(raw, "label", where, default=key),
        kind=kind,
        secret=secret,
        required=_bool(raw, "required", where),
        default=default,
        help=_str(raw, "help", where, default=""),
    )


def parse_preset(data: Mapping[str, Any], *, source: str = "built-in") -> Preset:
    """Validate one preset's data; every problem is a PresetError naming the file."""
    where = f"preset {source}"
    pid = _str(data, "id", where)
    if not _ID_RE.match(pid):
        raise PresetError(f"{where}: id {pid!r} must be lower-case letters, digits, - and _")
    where = f"preset {pid!r} ({source})"
    renew = _str(data, "renew", where, default="none")
    if renew not in RENEW_MODES:
        raise PresetError(f"{where}: renew must be one of {', '.join(RENEW_MODES)}")
    token_format = _str(data, "token_format", where, default="auto")
    if token_format not in TOKEN_FORMATS:
        raise PresetError(f"{where}: token_format must be one of {', '.join(TOKEN_FORMATS)}")
    raw_fields = data.get("fields", [])
    if not isinstance(raw_fields, list):
        raise PresetError(f"{where}: fields must be an array of tables ([[fields]])")
    fields = tuple(_parse_field(f, where) for f in raw_fields)
    keys = [f.key for f in fields]
    if len(set(keys)) != len(keys):
        raise PresetError(f"{where}: a field key is used twice")
    options: Any = {}
    flow_table = data.get("flow")
    flow_name: str
    if isinstance(flow_table, dict):
        # `[flow]` table form: name = "…" plus the options.
        flow_name = _str(flow_table, "name", where)
        options = {k: v for k, v in flow_table.items() if k != "name"}
    else:
        flow_name = _str(data, "flow", where)
        options = data.get("options", {})
    if not isinstance(options, dict):
        raise PresetError(f"{where}: flow options must be a table")
    if flow_name not in FLOWS:
        raise PresetError(f"{where}: unknown flow {flow_name!r}; known: {', '.join(FLOWS)}")
    typed = parse_options(flow_name, options, where)
    if isinstance(typed, StepsOptions) and renew == "refresh" and typed.refresh is None:
        raise PresetError(f'{where}: renew = "refresh" needs an [options.refresh] request')
    return Preset(
        id=pid,
        label=_str(data, "label", where, default=pid),
        description=_str(data, "description", where, default=""),
        flow=flow_name,
        renew=renew,  # type: ignore[arg-type]
        fields=fields,
        keep_secrets=_bool(data, "keep_secrets", where),
        token_format=token_format,
        options=typed,
        source=source,
    )


def _read(path: Path, source: str) -> Preset:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"preset file {path} cannot be read: {exc.__class__.__name__}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"preset file {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise PresetError(f"preset file {path} is not valid TOML: nested too deeply") from None
    preset = parse_preset(data, source=source)
    if preset.id != path.stem:
        raise PresetError(f"preset file {path} declares id {preset.id!r}; name the file {preset.id}.toml")
    return preset


class PresetCatalog:
    """Built-in presets plus the user's own; one file is read per preset asked for.

    ``vet`` is called with the user's presets folder and with each user preset file before it is
    read, and raises when the place cannot be trusted (``storage.trust.check_private``).
    """

    def __init__(
        self,
        user_dir: Path | None = None,
        builtin: Path | None = None,
        *,
        vet: Callable[[Path, str], None] | None = None,
    ) -> None:
        self.user_dir = user_dir
        self.builtin = builtin or builtin_dir()
        self._cache: dict[str, Preset] = {}
        self._vet = vet

    def get(self, preset_id: str) -> Preset:
        if preset_id in self._cache:
            return self._cache[preset_id]
        if not _ID_RE.match(preset_id):
            raise UsageError(f"unknown preset {preset_id!r}", next_step=NextStep.of(StepKind.PICK_PRESET))
        path = self.builtin / f"{preset_id}.toml"
        if self.user_dir is not None:
            user_file = self.user_dir / f"{preset_id}.toml"
            if user_file.is_file():
                if self._vet is not None:
                    self._vet(self.user_dir, "the presets folder")
                    self._vet(user_file, "the preset file")
                preset = _read(user_file, str(user_file))
                if path.is_file():
                    preset = replace(preset, overrides_builtin=True)
                self._cache[preset_id] = preset
                return preset
        if not path.is_file():
            raise UsageError(f"unknown preset {preset_id!r}", next_step=NextStep.of(StepKind.PICK_PRESET))
        preset = _read(path, "built-in")
        self._cache[preset_id] = preset
        return preset

    def ids(self) -> list[str]:
        found = {p.stem for p in self.builtin.glob("*.toml")}
        if self.user_dir is not None and self.user_dir.is_dir():
            found |= {p.stem for p in self.user_dir.glob("*.toml")}
        return sorted(found)

    def all(self) -> tuple[list[Preset], list[TrayauthError]]:
        """Every loadable preset, and the errors of the user's broken ones (shown, not fatal)."""
        presets: list[Preset] = []
        errors: list[TrayauthError] = []
        for pid in self.ids():
            try:
                presets.append(self.get(pid))
            except (PresetError, UnsafeLocation) as exc:
                errors.append(exc)
            except UsageError:
                continue
        return presets, errors


def load_preset(preset_id: str, user_dir: Path | None = None) -> Preset:
    return PresetCatalog(user_dir).get(preset_id)
