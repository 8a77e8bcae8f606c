"""The wheel a user installs: built from the sdist, installed into a fresh venv, run from outside.

Building through the sdist (what ``python -m build`` does) proves both archives carry the package
data; running from a temporary directory proves the installed copy is used, not this tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import stop_process
from trayauth import __version__

REPO = Path(__file__).resolve().parents[2]
RESOURCES = REPO / "trayauth" / "resources"
REQUIRE_ENV = "TRAYAUTH_PACKAGING_TESTS"


def _needed(module: str, install: str) -> None:
    """Skip without the build tool, except where the packaging CI step installed it (then fail)."""
    try:
        __import__(module)
    except ImportError:
        message = f"{module} is not installed: {install} (.ci/packaging.sh does)"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(message)
        pytest.skip(message)


def _timed(
    label: str, argv: list[str | Path], *, timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = subprocess.run(
        [str(a) for a in argv], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    print(f"{label}: {time.monotonic() - started:.1f} s")
    assert result.returncode == 0, f"{label} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    _needed("build", "pip install build")
    out = tmp_path_factory.mktemp("dist")
    _timed(
        "python -m build (sdist, then wheel from it)",
        [sys.executable, "-m", "build", "--outdir", out, REPO],
        timeout=300,
    )
    (wheel,) = out.glob("trayauth-*.whl")
    (sdist,) = out.glob("trayauth-*.tar.gz")
    return sdist, wheel


@pytest.fixture(scope="module")
def venv(dists: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with the plain wheel, as `pipx install trayauth` makes it: the tray included."""
    _needed("PySide6.QtWidgets", "pip install -e .")
    root = tmp_path_factory.mktemp("venv")
    _timed("python -m venv", [sys.executable, "-m", "venv", root], timeout=120)
    python = root / "bin" / "python"
    _sdist, wheel = dists
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    _timed(
        "pip install wheel",
        [python, "-m", "pip", "install", "-q", str(wheel)],
        env=env,
        timeout=600,
    )
    return root


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """A user with nothing yet, whose keyring never works (so the real one is never touched)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "TRAYAUTH_", "XDG_"))}
    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    env.update(
        TRAYAUTH_CONFIG_DIR=str(tmp_path / "config"),
        XDG_RUNTIME_DIR=str(run_dir),
        HOME=str(tmp_path / "home"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        QT_QPA_PLATFORM="offscreen",
    )
    return env


def run(argv: list[str | Path], env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(
        [str(a) for a in argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        stop_process(proc)


def _resource_files() -> set[str]:
    return {p.relative_to(REPO).as_posix() for p in RESOURCES.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_wheel_and_sdist_carry_the_resources(dists: tuple[Path, Path]) -> None:
    sdist, wheel = dists
    with zipfile.ZipFile(wheel) as zf:
        in_wheel = set(zf.namelist())
        entry_points = zf.read(f"trayauth-{__version__}.dist-info/entry_points.txt").decode()
        metadata = zf.read(f"trayauth-{__version__}.dist-info/METADATA").decode()
    with tarfile.open(sdist) as tf:
        in_sdist = {name.split("/", 1)[1] for name in tf.getnames() if "/" in name}
    wanted = _resource_files() | {"trayauth/py.typed"}
    assert wanted <= in_wheel, sorted(wanted - in_wheel)
    assert wanted <= in_sdist, sorted(wanted - in_sdist)
    assert any(n.startswith("trayauth/resources/presets/") for n in wanted)
    assert "trayauth = trayauth.cli:main" in entry_points
    assert "trayauth-tray = trayauth.ui.app:main" in entry_points
    # The tray is in the default install (no extra needed); `[gui]` stays as an empty alias.
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    for name in ("PySide6-Essentials", "qasync"):
        mine = [line for line in requires if line.lower().startswith(f"requires-dist: {name.lower()}")]
        assert mine, name
        assert not [line for line in mine if "extra ==" in line], mine
    assert "Provides-Extra: gui" in metadata
    assert not [n for n in in_wheel if n.startswith("tests/")]


@pytest.mark.slow
def test_installed_cli_runs_from_the_wheel(venv: Path, user_env: dict[str, str], tmp_path: Path) -> None:
    cli = venv / "bin" / "trayauth"
    where = run(
        [venv / "bin" / "python", "-c", "import trayauth; print(trayauth.__file__)"], user_env, tmp_path
    )
    assert Path(where.strip()).is_relative_to(venv), "the test must exercise the installed copy"
    assert run([cli, "--version"], user_env, tmp_path).strip() == f"trayauth {__version__}"
    providers = run([cli, "providers"], user_env, tmp_path)
    for preset in (RESOURCES / "presets").glob("*.toml"):
        assert preset.stem in providers
    assert "tray: not running" in run([cli, "status"], user_env, tmp_path)


@pytest.mark.slow
def test_demo_from_the_wheel_starts_the_tray_headless(
    venv: Path, user_env: dict[str, str], tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    cli = venv / "bin" / "trayauth"
    config = Path(user_env["TRAYAUTH_CONFIG_DIR"])
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(cli), "demo", "--config-dir", str(config)],
            env=user_env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    procs.append(proc)
    deadline = time.monotonic() + 60
    status = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the demo exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        status = run([cli, "status"], user_env, tmp_path)
        if "tray: running" in status:
            break
        time.sleep(0.25)
    else:
        pytest.fail(f"the demo's tray did not come up; status:\n{status}\nlog:\n{log.read_text()}")
    assert f"pid {proc.pid}" in status
    deadline = time.monotonic() + 60
    valid: list[str] = []
    while not valid and time.monotonic() < deadline:
        listing = json.loads(run([cli, "list", "--json"], user_env, tmp_path))
        valid = [str(a["name"]) for a in listing if a.get("state") == "valid"]
        if not valid:
            time.sleep(0.25)
    assert valid, f"the demo logged no account in:\n{log.read_text(errors='replace')}"
    assert run([cli, "header", valid[0]], user_env, tmp_path).startswith("Authorization: Bearer ")
