"""GUI tests: Qt offscreen; the loop, runner, timers and tray rig come from tests/support/qt.py."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before anything imports Qt

from pathlib import Path

import pytest

from tests.support.qt import OFFSCREEN_NOISE, bus_address, loop, rig, run, timers

__all__ = ["bus_address", "loop", "rig", "run", "timers"]  # fixtures, registered by being imported here


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE))
            item.add_marker(pytest.mark.gui)
