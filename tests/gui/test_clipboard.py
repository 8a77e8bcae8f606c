"""Copies are concealed from clipboard managers and cleared later, only if still ours."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QClipboard, QGuiApplication

from tests.support.qt import FakeTimers
from trayauth.ui.qt.clipboard import KDE_HINT, MAC_CONCEALED, WIN_EXCLUDE, SecretClipboard, concealed_mime


@pytest.fixture
def clipboard(qapp: Any) -> QClipboard:
    board = QGuiApplication.clipboard()
    board.clear()
    return board


@pytest.mark.parametrize(
    ("platform", "fmt"), [("linux", KDE_HINT), ("darwin", MAC_CONCEALED), ("win32", WIN_EXCLUDE)]
)
def test_each_platform_gets_its_concealment_hint(qapp: Any, platform: str, fmt: str) -> None:
    mime = concealed_mime("Bearer abc", platform)
    assert mime.text() == "Bearer abc"
    assert mime.hasFormat(fmt)
    others = {KDE_HINT, MAC_CONCEALED, WIN_EXCLUDE} - {fmt}
    assert not any(mime.hasFormat(o) for o in others)


def test_copy_reaches_the_clipboard_with_the_hint(clipboard: QClipboard, timers: FakeTimers) -> None:
    secret = SecretClipboard(clipboard, lambda: 60, timer=timers, platform="linux")
    secret.copy("Authorization: Bearer t0k3n")
    assert clipboard.text() == "Authorization: Bearer t0k3n"
    data = clipboard.mimeData()
    assert data is not None
    assert bytes(data.data(KDE_HINT).data()) == b"secret"
    assert [t.seconds for t in timers.pending] == [60]


def test_cleared_after_the_timeout_when_still_ours(clipboard: QClipboard, timers: FakeTimers) -> None:
    secret = SecretClipboard(clipboard, lambda: 30, timer=timers, platform="linux")
    secret.copy("t0k3n")
    assert timers.fire_all() == 1
    assert clipboard.text() == ""
    assert not secret.holding


def test_left_alone_when_the_user_copied_something_else(clipboard: QClipboard, timers: FakeTimers) -> None:
    secret = SecretClipboard(clipboard, lambda: 30, timer=timers, platform="linux")
    secret.copy("t0k3n")
    clipboard.setText("the user's own text")
    timers.fire_all()
    assert clipboard.text() == "the user's own text"


def test_a_second_copy_restarts_the_countdown(clipboard: QClipboard, timers: FakeTimers) -> None:
    secret = SecretClipboard(clipboard, lambda: 30, timer=timers, platform="linux")
    secret.copy("first")
    first = timers.pending[0]
    secret.copy("second")
    assert first.stopped
    assert len(timers.pending) == 1
    timers.fire_all()
    assert clipboard.text() == ""


def test_zero_means_never_clear(clipboard: QClipboard, timers: FakeTimers) -> None:
    secret = SecretClipboard(clipboard, lambda: 0, timer=timers, platform="linux")
    secret.copy("t0k3n")
    assert timers.pending == []
    assert clipboard.text() == "t0k3n"
