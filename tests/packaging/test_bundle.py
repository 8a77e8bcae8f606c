"""The desktop metadata in packaging/, and the Linux one-folder bundle built from the spec.

The metadata checks are fast. The bundle test builds with PyInstaller (about half a minute on two
cores), then runs the frozen executables the way a user would: --version, status, providers, the
tray starting offscreen, and the bundle's install.sh into a throwaway prefix.
"""

from __future__ import annotations

import configparser
import json
import os
import plistlib
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import stop_process
from trayauth import __version__
from trayauth.desktop import autostart

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
APP_ID = autostart.APP_ID
DESKTOP = PACKAGING / "linux" / f"{APP_ID}.desktop"
METAINFO = PACKAGING / "linux" / f"{APP_ID}.metainfo.xml"
INFO_PLIST = PACKAGING / "macos" / "Info.plist"


REQUIRE_ENV = "TRAYAUTH_PACKAGING_TESTS"


def _missing(message: str) -> None:
    """Skip, except in the packaging CI step, which installs every tool (there: fail)."""
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(message)
    pytest.skip(message)


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        _missing(f"{name} is not installed (.ci/packaging.sh installs it)")
    assert path is not None
    return path


def require_module(module: str, install: str) -> None:
    try:
        __import__(module)
    except ImportError:
        _missing(f"{module} is not installed: {install} (.ci/packaging.sh does)")


def desktop_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


# --- metadata -----------------------------------------------------------------------------------


def test_desktop_file_is_valid() -> None:
    tool = require_tool("desktop-file-validate")
    result = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error:" not in result.stdout


def test_metainfo_is_valid_and_names_the_desktop_file() -> None:
    tool = require_tool("appstreamcli")
    result = subprocess.run(
        [tool, "validate", "--no-net", str(METAINFO)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    root = ET.parse(METAINFO).getroot()  # noqa: S314 (our own file, from this repo)
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("name") == desktop_entry(DESKTOP)["Name"]
    releases = [r.get("version") for r in root.iter("release")]
    assert __version__ in releases, "add a <release> for the new version to the metainfo"


def test_macos_info_plist_is_a_menu_bar_app() -> None:
    with INFO_PLIST.open("rb") as fh:
        info = plistlib.load(fh)
    assert info["LSUIElement"] is True  # no Dock icon, no app menu: the tray icon is the app
    assert info["LSBackgroundOnly"] is False  # background-only apps cannot show the tray icon
    assert info["CFBundleIdentifier"] == APP_ID
    assert info["CFBundleExecutable"] == "trayauth-tray"
    assert info["CFBundleShortVersionString"] == __version__


def test_spec_builds_both_executables_in_one_folder() -> None:
    spec = (PACKAGING / "trayauth.spec").read_text(encoding="utf-8")
    assert 'name="trayauth-tray", console=False' in spec
    assert 'name="trayauth", console=True' in spec
    assert 'collect_submodules("trayauth")' in spec
    assert 'entry_points(group="keyring.backends")' in spec


# --- the bundle ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_module("PySide6.QtWidgets", "pip install -e .")
    require_module("PyInstaller", "pip install pyinstaller")
    out = tmp_path_factory.mktemp("bundle")
    env = dict(os.environ, PYTHON=sys.executable, DIST_DIR=str(out / "dist"), WORK_DIR=str(out / "work"))
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(PACKAGING / "build_bundle.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    print(f"bundle built in {time.monotonic() - started:.0f} s")
    return out / "dist" / "trayauth"


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """A user with nothing yet: own config dir and runtime dir, and a keyring that never works
    (so nothing here can touch the real one; the bundle then says it keeps a key file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "TRAYAUTH_", "XDG_"))}
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env.update(
        TRAYAUTH_CONFIG_DIR=str(tmp_path / "config"),
        XDG_RUNTIME_DIR=str(run),
        XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        HOME=str(tmp_path / "home"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        QT_QPA_PLATFORM="offscreen",
    )
    return env


def run(argv: list[str | Path], env: dict[str, str], cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture
def tray_stopper() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        stop_process(proc)


def wait_for_tray(
    cli: Path, env: dict[str, str], proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0
) -> str:
    """Poll ``trayauth status`` until it reports the tray; fail early if the tray process died."""
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the tray exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        status = run([cli, "status"], env)
        if "tray: running" in status:
            return status
        time.sleep(0.25)
    pytest.fail(f"the tray did not come up in {timeout:.0f} s; status said:\n{status}\n{log.read_text()}")


def wait_for_valid_account(cli: Path, env: dict[str, str], timeout: float = 60.0) -> str:
    """The name of the first account the tray reports as valid (the demo logs its accounts in)."""
    deadline = time.monotonic() + timeout
    listing: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        listing = json.loads(run([cli, "list", "--json"], env))
        valid = [str(a["name"]) for a in listing if a.get("state") == "valid"]
        if valid:
            return valid[0]
        time.sleep(0.25)
    pytest.fail(f"no account became valid in {timeout:.0f} s: {listing}")


@pytest.mark.slow
def test_bundle_layout(bundle: Path) -> None:
    for name in ("trayauth", "trayauth-tray", "install.sh"):
        assert os.access(bundle / name, os.X_OK), name
    assert (bundle / "share" / "applications" / DESKTOP.name).read_bytes() == DESKTOP.read_bytes()
    assert (bundle / "share" / "metainfo" / METAINFO.name).is_file()
    assert (bundle / "share" / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()


@pytest.mark.slow
def test_bundle_carries_the_lazily_imported_modules(bundle: Path) -> None:
    from PyInstaller.archive.readers import CArchiveReader

    from trayauth.flows import FLOWS

    archive = CArchiveReader(str(bundle / "trayauth"))
    pyz = archive.open_embedded_archive(next(n for n in archive.toc if n.endswith(".pyz")))
    modules = set(pyz.toc)
    wanted = {f"trayauth.flows.{name}" for name in FLOWS}
    wanted |= {"trayauth.ui.app", "trayauth.demo", "keyring.backends.SecretService"}
    wanted |= {"keyring.backends.macOS", "keyring.backends.Windows", "keyring.backends.fail"}
    assert wanted <= modules, sorted(wanted - modules)
    assert not {m for m in modules if m.startswith(("keyrings.alt", "pytest", "hypothesis"))}
    internal = bundle / "_internal"
    assert list(internal.glob("keyring-*.dist-info/entry_points.txt")), (
        "keyring finds backends by entry point"
    )
    resources = REPO / "trayauth" / "resources"
    packaged = internal / "trayauth" / "resources"
    source_files = {p.relative_to(resources) for p in resources.rglob("*") if p.is_file()}
    bundled_files = {p.relative_to(packaged) for p in packaged.rglob("*") if p.is_file()}
    assert source_files <= bundled_files, sorted(map(str, source_files - bundled_files))


@pytest.mark.slow
def test_bundle_cli_smoke(bundle: Path, user_env: dict[str, str], tmp_path: Path) -> None:
    cli = bundle / "trayauth"
    assert run([cli, "--version"], user_env, cwd=tmp_path).strip() == f"trayauth {__version__}"
    status = run([cli, "status"], user_env, cwd=tmp_path)
    assert "tray: not running" in status
    assert "key file" in status  # no keyring here, and the bundle says so
    providers = run([cli, "providers"], user_env, cwd=tmp_path)
    presets = REPO / "trayauth" / "resources" / "presets"
    for preset in presets.glob("*.toml"):
        assert preset.stem in providers


@pytest.mark.slow
def test_bundle_is_its_own_flow_worker(bundle: Path, user_env: dict[str, str], tmp_path: Path) -> None:
    """The frozen tray starts its renewal workers as ``<bundle>/trayauth-tray --flow-worker``
    (there is no ``python -m`` in a bundle): each executable answers as the worker."""
    for name in ("trayauth", "trayauth-tray"):
        proc = subprocess.run(
            [str(bundle / name), "--flow-worker"],
            input=json.dumps({"id": 1, "op": "refresh"}) + "\n",
            env=user_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (name, proc.stderr)
        answer = json.loads(proc.stdout)  # half a call: its answer is an error, with its id
        assert answer["id"] == 1 and set(answer) == {"id", "error"}, (name, proc.stdout)


@pytest.mark.slow
def test_bundle_tray_starts_offscreen(
    bundle: Path, user_env: dict[str, str], tmp_path: Path, tray_stopper: list[subprocess.Popen[bytes]]
) -> None:
    log = tmp_path / "tray.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(bundle / "trayauth-tray")], env=user_env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
        )
    tray_stopper.append(proc)
    status = wait_for_tray(bundle / "trayauth", user_env, proc, log)
    assert f"pid {proc.pid}" in status


@pytest.mark.slow
def test_bundle_demo_serves_a_header(
    bundle: Path, user_env: dict[str, str], tmp_path: Path, tray_stopper: list[subprocess.Popen[bytes]]
) -> None:
    """The demo needs the frozen dev server and every flow module: a header proves they are there."""
    cli = bundle / "trayauth"
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(cli), "demo", "--config-dir", user_env["TRAYAUTH_CONFIG_DIR"]],
            env=user_env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    tray_stopper.append(proc)
    wait_for_tray(cli, user_env, proc, log)
    name = wait_for_valid_account(cli, user_env)
    assert run([cli, "header", name], user_env).startswith("Authorization: Bearer ")


@pytest.mark.slow
def test_bundle_install_script(bundle: Path, user_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(user_env, PREFIX=str(tmp_path / "prefix"))
    prefix = tmp_path / "prefix"
    out = run(["sh", bundle / "install.sh"], env)
    assert "installed" in out
    installed = prefix / "lib" / "trayauth"
    assert (prefix / "bin" / "trayauth").resolve() == (installed / "trayauth").resolve()
    assert run([prefix / "bin" / "trayauth", "--version"], env).strip() == f"trayauth {__version__}"
    entry_path = prefix / "share" / "applications" / DESKTOP.name
    entry = desktop_entry(entry_path)
    assert entry["Exec"] == f'"{installed}/trayauth-tray"'
    assert entry["Icon"] == APP_ID
    if shutil.which("desktop-file-validate"):
        run(["desktop-file-validate", entry_path], env)
    assert (prefix / "share" / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()

    run(["sh", installed / "install.sh", "--uninstall"], env)
    assert not installed.exists()
    assert not (prefix / "bin" / "trayauth").exists()
    assert not entry_path.exists()
