"""Dialogs that fit: every dialog the tray shows (Add account and Log in for every preset, the
keyring notice, Settings, Inspect, About, Activity, the Remove confirmation, the consent
question), at QT_SCALE_FACTOR 1 and 2 on a 1920x1080 screen: every field at least its size hint
tall, no two widgets overlapping, every label's text fully shown (help text wraps below its
field), stacked form rows lined up, and every window within the screen (540 logical pixels tall
at 2x: a long body scrolls)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QScrollArea, QVBoxLayout, QWidget

from tests.gui.layout_check import misaligned, off_screen, problems
from tests.support.cli import REPO

SCREEN = {"width": 1920, "height": 1080}


def offscreen_1080p(tmp_path: Path) -> str:
    """Qt's offscreen platform with one 1920x1080 screen (its default is 800x800)."""
    config = tmp_path / "screen.json"
    screen = {"name": "1080p", "x": 0, "y": 0, **SCREEN, "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}
    config.write_text(json.dumps({"windowFrameMargins": False, "screens": [screen]}))
    return f"offscreen:configfile={config}"


@pytest.mark.parametrize("scale", ["1", "2"])
def test_every_dialog_fits_at_this_scale(scale: str, tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": offscreen_1080p(tmp_path), "QT_SCALE_FACTOR": scale}
    env.pop("TRAYAUTH_KEY_STORAGE", None)  # the keyring notice needs the keyring tried
    proc = subprocess.run(
        [sys.executable, "-m", "tests.gui.layout_dialogs"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["scale"] == scale
    factor = int(scale)
    assert report["screen"] == [SCREEN["width"] // factor, SCREEN["height"] // factor]
    checked = " | ".join(report["checked"])
    for dialog in (
        "Add account / oauth2-device",
        "Log in again, settings shown / sensos",
        "Keyring notice after a login",
        "Settings (",
        "Inspect",
        "About",
        "Activity",
        "Remove confirmation",
        "Consent question",
    ):
        assert dialog in checked
    assert report["problems"] == []


def test_the_check_sees_a_squeezed_field_a_cut_label_and_an_overlap(qapp: Any) -> None:
    root = QWidget()
    root.resize(300, 200)
    squeezed = QLineEdit(root)
    squeezed.setObjectName("squeezed")
    squeezed.setGeometry(0, 0, 200, 5)
    cut = QLabel("a long help text that needs several lines at this width " * 3, root)
    cut.setWordWrap(True)
    cut.setGeometry(0, 50, 120, 14)
    over = QLabel("over", root)
    over.setGeometry(10, 55, 60, 20)
    root.show()
    found = problems(root, "test")
    assert any("'squeezed' squeezed" in p for p in found), found
    assert any("label 'a long help text" in p and "cut" in p for p in found), found
    assert any("overlaps" in p for p in found), found
    root.close()


def test_the_check_sees_a_field_cut_at_the_side_by_a_scroll_area(qapp: Any) -> None:
    root = QWidget()
    root.resize(300, 200)
    scroll = QScrollArea(root)
    scroll.setGeometry(0, 0, 200, 200)
    page = QWidget()
    page.resize(260, 300)
    wide = QLineEdit(page)
    wide.setObjectName("wide")
    wide.setGeometry(0, 0, 250, wide.sizeHint().height())
    below = QLineEdit(page)
    below.setObjectName("below")
    below.setGeometry(0, 250, 150, below.sizeHint().height())  # scrolled out of view: fine
    scroll.setWidget(page)
    root.show()
    qapp.processEvents()
    found = problems(root, "test")
    assert any("'wide' cut at the side" in p for p in found), found
    assert not any("below" in p for p in found), found
    root.close()


def test_the_check_sees_two_stacked_forms_whose_fields_do_not_line_up(qapp: Any) -> None:
    root = QWidget()
    column = QVBoxLayout(root)
    upper, lower = QFormLayout(), QFormLayout()
    upper.addRow("Provider", QLineEdit(root))
    lower.addRow("A much longer label", QLineEdit(root))
    column.addLayout(upper)
    column.addLayout(lower)
    root.show()
    qapp.processEvents()
    found = misaligned(root, "test")
    assert len(found) == 1 and "'Provider'" in found[0] and "'A much longer label'" in found[0], found
    # Equal label widths line them up, and the check is then quiet.
    for form in (upper, lower):
        label = form.itemAt(0, QFormLayout.ItemRole.LabelRole).widget()
        label.setMinimumWidth(200)
    qapp.processEvents()
    assert misaligned(root, "test") == []
    root.close()


def test_the_check_sees_a_window_taller_than_its_screen(qapp: Any) -> None:
    root = QWidget()
    free = root.screen().availableGeometry()
    root.resize(200, free.height() + 50)
    root.show()
    qapp.processEvents()
    found = off_screen(root, "test")
    assert len(found) == 1 and "does not fit the screen" in found[0], found
    root.resize(200, free.height() - 50)
    qapp.processEvents()
    assert off_screen(root, "test") == []
    root.close()
