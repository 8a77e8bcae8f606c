"""config.toml: accounts and app settings, never a secret, never rewritten when broken."""

from __future__ import annotations

import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trayauth.cli.wording import line as cli_line
from trayauth.cli.wording import step_of as cli_step
from trayauth.domain.errors import AccountExists, AccountNotFound, ConfigError, UsageError
from trayauth.domain.model import Account
from trayauth.storage.config import AppSettings, Config, ConfigStore, load_config, looks_secret

EXAMPLE = """\
[app]
default = "work"
clipboard_clear_seconds = 60
header_format = "Authorization: Bearer {token}"
notify_lead_seconds = 300
autostart = false

[accounts.work]
preset = "sentiance"
[accounts.work.settings]
username = "me@corp.com"
base_url = "https://api.sentiance.com"

[accounts."me@home.org"]
preset = "bearer"
"""


@pytest.fixture
def store(tmp_path: Path) -> ConfigStore:
    return ConfigStore(tmp_path / "cfg" / "config.toml")


def test_missing_file_is_an_empty_config(tmp_path: Path) -> None:
    config = load_config(tmp_path / "config.toml")
    assert config == Config()
    assert config.app == AppSettings(
        default=None,
        clipboard_clear_seconds=60,
        header_format="Authorization: Bearer {token}",
        notify_lead_seconds=300,
        autostart=False,
    )
    assert not (tmp_path / "config.toml").exists()


def test_reads_the_documented_shape_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE)
    config = load_config(path)
    assert list(config.accounts) == ["work", "me@home.org"]
    assert config.accounts["work"] == Account(
        "work", "sentiance", {"username": "me@corp.com", "base_url": "https://api.sentiance.com"}
    )
    assert config.accounts["me@home.org"].settings == {}
    assert config.app.default == "work"


def test_mutations_round_trip_and_keep_order(store: ConfigStore) -> None:
    store.add_account(Account("zeta", "bearer"))
    store.add_account(Account("alpha", "sentiance", {"username": "a@b.c", "base_url": "https://x"}))
    store.add_account(Account("mid.dle_1", "senseye", {"username": "u"}))
    store.set_default("alpha")
    store.update_app(clipboard_clear_seconds=10, header_format="Bearer {token}", autostart=True)
    config = store.load()
    assert list(config.accounts) == ["zeta", "alpha", "mid.dle_1"]
    assert config.accounts["alpha"].settings == {"username": "a@b.c", "base_url": "https://x"}
    assert config.app == AppSettings(
        default="alpha", clipboard_clear_seconds=10, header_format="Bearer {token}", autostart=True
    )
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    doc = tomllib.loads(store.path.read_text())
    assert doc["accounts"]["alpha"] == {
        "preset": "sentiance",
        "settings": {"username": "a@b.c", "base_url": "https://x"},
    }
    assert store.get_account("zeta") == Account("zeta", "bearer", {})


def test_update_settings_replaces_the_set(store: ConfigStore) -> None:
    store.add_account(Account("w", "sentiance", {"username": "a", "base_url": "https://x"}))
    updated = store.update_account_settings("w", {"username": "b"})
    assert updated == Account("w", "sentiance", {"username": "b"})
    assert store.get_account("w").settings == {"username": "b"}
    with pytest.raises(AccountNotFound):
        store.update_account_settings("ghost", {})


def test_remove_clears_the_default(store: ConfigStore) -> None:
    store.add_account(Account("a", "bearer"))
    store.add_account(Account("b", "bearer"))
    store.set_default("a")
    store.remove_account("a")
    config = store.load()
    assert list(config.accounts) == ["b"] and config.app.default is None
    with pytest.raises(AccountNotFound):
        store.remove_account("a")


def test_duplicates_and_unknown_accounts(store: ConfigStore) -> None:
    store.add_account(Account("work", "bearer"))
    with pytest.raises(AccountExists, match="work"):
        store.add_account(Account("work", "sentiance"))
    with pytest.raises(AccountNotFound) as info:
        store.get_account("wrok")
    assert "wrok" in info.value.message and "did you mean 'work'" in cli_step(info.value)
    with pytest.raises(AccountNotFound) as info:
        store.get_account("zzzzzz")
    assert "trayauth list" in cli_line(info.value)
    with pytest.raises(AccountNotFound):
        store.set_default("nobody")
    with pytest.raises(AccountNotFound):
        store.update_app(default="nobody")


@pytest.mark.parametrize(
    "name", ["", ".hidden", "-dash", "a b", "a/b", "../x", "x" * 65, "naïve", "a\nb", "a:b"]
)
def test_bad_account_names_are_refused(store: ConfigStore, name: str) -> None:
    with pytest.raises(UsageError, match="account name"):
        store.add_account(Account(name, "bearer"))
    assert not store.path.exists()


@pytest.mark.parametrize("name", ["w", "me@corp.com", "a.b-c_d", "9lives", "x" * 64, "@team"])
def test_good_account_names(store: ConfigStore, name: str) -> None:
    store.add_account(Account(name, "bearer"))
    assert list(store.load().accounts) == [name]


@pytest.mark.parametrize(
    "key", ["password", "client_secret", "api_key", "token", "refresh_token", "PASSWORD"]
)
def test_secret_settings_never_reach_the_file(store: ConfigStore, key: str) -> None:
    store.add_account(Account("w", "bearer"))
    before = store.path.read_bytes()
    with pytest.raises(UsageError) as info:
        store.add_account(Account("x", "sentiance", {"username": "a", key: "hunter2"}))
    assert "secret" in info.value.message and "trayauth login" in cli_step(info.value)
    assert "hunter2" not in cli_line(info.value)
    with pytest.raises(UsageError):
        store.update_account_settings("w", {key: "hunter2"})
    assert store.path.read_bytes() == before
    assert b"hunter2" not in store.path.read_bytes()


def test_secret_detection_spares_ordinary_keys() -> None:
    for key in ("token_url", "base_url", "username", "client_id", "tenant_id", "scopes", "issuer"):
        assert not looks_secret(key), key
    for key in ("application_secret", "access_token", "private_key", "apikey", "passwd"):
        assert looks_secret(key), key


@pytest.mark.parametrize(
    "settings",
    [{"bad key": "x"}, {"1st": "x"}, {"a-b": "x"}, {"n": 5}, {"n": None}, {"n": "x" * 9000}],
)
def test_settings_must_be_simple_strings(store: ConfigStore, settings: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        store.add_account(Account("w", "bearer", settings))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        {"header_format": "Bearer"},
        {"header_format": "Bearer {token}\nX-Evil: 1"},
        {"header_format": "{user} {token}"},
        {"header_format": "{token"},
        {"clipboard_clear_seconds": -1},
        {"clipboard_clear_seconds": True},
        {"notify_lead_seconds": "300"},
        {"autostart": "yes"},
        {"colour": "blue"},
    ],
)
def test_app_settings_are_validated(store: ConfigStore, fields: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        store.update_app(**fields)
    assert not store.path.exists()


BROKEN = [
    (b"[accounts.x\npreset = 1", "line 1"),
    (b"[accounts.x]\npreset = \x00 broken", "line 2"),
    (b"\xff\xfe[app]", "UTF-8"),
    (b"accounts = 3", "accounts"),
    (b"[accounts.x]\nsettings = {}", "preset"),
    (b"[accounts.x]\npreset = 'bearer'\nsettings = {n = 5}", "string"),
    (b"[accounts.x]\npreset = 'bearer'\n[accounts.x.settings]\npassword = 'hunter2'", "secret"),
    (b"[accounts.'bad name']\npreset = 'bearer'", "account name"),
    (b"[accounts.x]\npreset = 'bearer'\ncolour = 'blue'", "colour"),
    (b"[app]\nautostart = 'yes'", "autostart"),
    (b"[app]\nclipboard_clear_seconds = 1.5", "clipboard_clear_seconds"),
    (b"[extras]\na = 1", "extras"),
    (b"app = [1, 2]", "app"),
]


@pytest.mark.parametrize(("raw", "problem"), BROKEN)
def test_a_broken_file_is_reported_in_one_line_and_never_rewritten(
    store: ConfigStore, raw: bytes, problem: str
) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(raw)
    with pytest.raises(ConfigError) as info:
        store.load()
    line = cli_line(info.value)
    assert str(store.path) in line and problem in line and "\n" not in line
    assert "hunter2" not in line
    mutations = [
        lambda: store.add_account(Account("y", "bearer")),
        lambda: store.remove_account("x"),
        lambda: store.set_default(None),
        lambda: store.update_app(autostart=True),
        lambda: store.update_account_settings("x", {}),
    ]
    for mutate in mutations:
        with pytest.raises(ConfigError):
            mutate()
    assert store.path.read_bytes() == raw


def test_an_unreadable_file_is_a_config_error(store: ConfigStore) -> None:
    store.path.mkdir(parents=True)  # a directory where the file should be
    with pytest.raises(ConfigError, match="cannot read"):
        store.load()


ADDER = """
import sys
from pathlib import Path
from trayauth.storage.config import ConfigStore
from trayauth.domain.model import Account
store = ConfigStore(Path(sys.argv[1]))
for i in range(int(sys.argv[3])):
    store.add_account(Account(f"{sys.argv[2]}-{i}", "bearer", {"base_url": "https://x"}))
"""


def test_concurrent_processes_lose_no_account(store: ConfigStore) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", ADDER, str(store.path), f"p{n}", "6"]) for n in range(4)]
    assert [p.wait() for p in procs] == [0, 0, 0, 0]
    assert sorted(store.load().accounts) == sorted(f"p{n}-{i}" for n in range(4) for i in range(6))


# ---- hypothesis: whatever the file holds, only ConfigError escapes ------------------------------

toml_scalars = st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.floats(allow_nan=False))
toml_values = toml_scalars | st.lists(toml_scalars, max_size=3)
app_keys = st.sampled_from(
    ["default", "clipboard_clear_seconds", "header_format", "notify_lead_seconds", "autostart"]
)
account_names = st.sampled_from(["work", "me@corp.com", ".x", "a b", ""]) | st.text(max_size=6)
account_bodies = st.dictionaries(
    st.sampled_from(["preset", "settings", "extra"]),
    toml_values
    | st.dictionaries(
        st.sampled_from(["username", "password", "bad key"]) | st.text(max_size=6), toml_values
    ),
    max_size=3,
)
toml_docs = st.fixed_dictionaries(
    {},
    optional={
        "app": st.dictionaries(app_keys | st.text(max_size=6), toml_values, max_size=4) | toml_values,
        "accounts": st.dictionaries(account_names, account_bodies | toml_values, max_size=3) | toml_values,
        "other": toml_values,
    },
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hypothesis") / "config.toml"


def _load_or_config_error(path: Path) -> None:
    try:
        config = load_config(path)
    except ConfigError as exc:
        line = cli_line(exc)
    else:
        assert isinstance(config, Config)
        return
    assert str(path) in line and "\n" not in line


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_any_bytes_load_or_raise_config_error(scratch: Path, raw: bytes) -> None:
    scratch.write_bytes(raw)
    _load_or_config_error(scratch)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=toml_docs)
def test_any_toml_document_loads_or_raises_config_error(scratch: Path, doc: dict[str, object]) -> None:
    scratch.write_text(tomli_w.dumps(doc))
    _load_or_config_error(scratch)


@settings(max_examples=50, deadline=None)
@given(
    names=st.lists(
        st.from_regex(r"[A-Za-z0-9_@][A-Za-z0-9._@-]{0,20}", fullmatch=True), unique=True, max_size=5
    ),
    value=st.text(max_size=50),
)
def test_whatever_we_write_we_read_back(
    tmp_path_factory: pytest.TempPathFactory, names: list[str], value: str
) -> None:
    store = ConfigStore(tmp_path_factory.mktemp("rt") / "config.toml")
    for name in names:
        store.add_account(Account(name, "bearer", {"base_url": value}))
    config = store.load()
    assert list(config.accounts) == names
    assert all(a.settings == {"base_url": value} for a in config.accounts.values())


def test_secrets_go_to_the_vault_and_only_there(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring.core

    from trayauth.storage.store import Store

    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # re-read PYTHON_KEYRING_BACKEND

    store = Store.open(isolated)
    store.config.add_account(Account("w", "sentiance", {"username": "me@corp.com"}))
    store.vault.update("w", lambda e: type(e)(secrets={"password": "hunter2-secret"}, tokens=None))
    text = (isolated / "config.toml").read_text()
    assert "me@corp.com" in text and "hunter2" not in text
    assert b"hunter2" not in (isolated / "vault.json").read_bytes()
    assert store.vault.entry("w").secrets == {"password": "hunter2-secret"}
