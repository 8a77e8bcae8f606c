"""Copying tokens the way password managers copy passwords.

A copy is marked concealed so clipboard managers do not keep it in their history
(``x-kde-passwordManagerHint: secret`` on Linux desktops, ``org.nspasteboard.ConcealedType`` on
macOS, ``ExcludeClipboardContentFromMonitorProcessing`` on Windows), and it is cleared after a
while, but only if the clipboard still holds it: whatever the user copied since is theirs. Only a
digest of the copied text is kept for that comparison.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable

from PySide6 import QtGui
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QClipboard

from trayauth.ui.qt.timers import qt_timer
from trayauth.ui.state.timers import Timer, TimerFactory

KDE_HINT = "x-kde-passwordManagerHint"
MAC_CONCEALED = "application/x-nspasteboard-concealed-type"
MAC_CONCEALED_UTI = "org.nspasteboard.ConcealedType"
WIN_EXCLUDE = "ExcludeClipboardContentFromMonitorProcessing"
WIN_HISTORY = "CanIncludeInClipboardHistory"
WIN_CLOUD = "CanUploadToCloudClipboard"


def concealment_formats(platform: str = sys.platform) -> dict[str, bytes]:
    """The extra formats that tell this platform's clipboard managers to look away."""
    if platform == "win32":
        zero = (0).to_bytes(4, "little")  # DWORD 0: "no"
        return {WIN_EXCLUDE: b"\x01", WIN_HISTORY: zero, WIN_CLOUD: zero}
    if platform == "darwin":
        return {MAC_CONCEALED: b"secret"}
    return {KDE_HINT: b"secret"}


def concealed_mime(text: str, platform: str = sys.platform) -> QMimeData:
    mime = QMimeData()
    mime.setText(text)
    for fmt, value in concealment_formats(platform).items():
        mime.setData(fmt, value)
    return mime


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class SecretClipboard:
    """Copies secrets concealed; clears them after ``clear_after()`` seconds if still there."""

    def __init__(
        self,
        clipboard: QClipboard,
        clear_after: Callable[[], int],
        *,
        timer: TimerFactory = qt_timer,
        platform: str = sys.platform,
    ) -> None:
        self._clipboard = clipboard
        self._clear_after = clear_after
        self._timer_factory = timer
        self._platform = platform
        self._timer: Timer | None = None
        self._digest: bytes | None = None
        if platform == "darwin":
            install_mac_converter()

    @property
    def holding(self) -> bool:
        """Whether a copy of ours is waiting to be cleared."""
        return self._digest is not None

    def copy(self, text: str) -> None:
        self._clipboard.setMimeData(concealed_mime(text, self._platform), QClipboard.Mode.Clipboard)
        self._stop_timer()
        seconds = self._clear_after()
        # 0 is "never clear": not after a while, and not at quit either.
        self._digest = _digest(text) if seconds > 0 else None
        if seconds > 0:
            self._timer = self._timer_factory(seconds, self._clear_when_due)

    def _clear_when_due(self) -> None:
        self.clear_if_unchanged()

    def clear_if_unchanged(self) -> bool:
        """Clear the clipboard if it still holds our copy; True when it did."""
        self._stop_timer()
        digest, self._digest = self._digest, None
        if digest is None:
            return False
        if _digest(self._clipboard.text(QClipboard.Mode.Clipboard)) != digest:
            return False
        self._clipboard.clear(QClipboard.Mode.Clipboard)
        return True

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None


_mac_converter: object | None = None


def install_mac_converter() -> None:
    """Map our MIME name to the raw ``org.nspasteboard.ConcealedType`` pasteboard type.

    Qt files an unknown MIME type under a private ``com.trolltech.anymime`` type, which clipboard
    managers do not know; a QUtiMimeConverter (Qt 6.5+, macOS builds only) names it properly.
    Where the binding lacks the class the copy still works, just without the hint.
    """
    global _mac_converter
    if _mac_converter is not None:
        return
    base = getattr(QtGui, "QUtiMimeConverter", None)
    if base is None:
        _mac_converter = False
        return

    class ConcealedConverter(base):  # type: ignore[misc, valid-type]
        def canConvert(self, mime: str, uti: str) -> bool:
            return mime == MAC_CONCEALED and uti == MAC_CONCEALED_UTI

        def mimeForUti(self, uti: str) -> str:
            return MAC_CONCEALED if uti == MAC_CONCEALED_UTI else ""

        def utiForMime(self, mime: str) -> str:
            return MAC_CONCEALED_UTI if mime == MAC_CONCEALED else ""

        def convertToMime(self, mime: str, data: list[bytes], uti: str) -> bytes:
            return data[0] if data else b""

        def convertFromMime(self, mime: str, data: object, uti: str) -> list[bytes]:
            return [bytes(data) if isinstance(data, bytes | bytearray) else b"secret"]

    _mac_converter = ConcealedConverter()
