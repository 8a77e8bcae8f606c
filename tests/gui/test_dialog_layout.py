"""Dialogs that fit: for every preset's Add and Log-in dialog, Settings, Inspect, About and
Activity, at QT_SCALE_FACTOR 1 and 2, every field is at least its size hint tall, no two widgets
overlap, and every label's text is fully shown (help text wraps below its field)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from tests.gui.layout_check import problems
from tests.support.cli import REPO


@pytest.mark.parametrize("scale", ["1", "2"])
def test_every_dialog_fits_at_this_scale(scale: str) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": scale}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.gui.layout_check"],
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
