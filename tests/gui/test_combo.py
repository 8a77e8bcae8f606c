"""A drop-down's chosen entry, where the field is narrower than it, ends in "…" (with the whole
entry in the tooltip) instead of being cut off under the arrow, as the Add dialog's provider was
at 2x scale."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from trayauth.ui.widgets.combo import ElidingComboBox

LONG = "OAuth 2.0 / OpenID Connect (browser sign-in)"


def test_a_long_entry_ends_in_an_ellipsis_where_the_field_is_too_narrow(qtbot: QtBot) -> None:
    box = ElidingComboBox()
    qtbot.addWidget(box)
    box.addItems([LONG, "Any bearer token"])
    height = box.sizeHint().height()
    box.resize(box.sizeHint().width() + 40, height)
    box.show()
    qtbot.waitExposed(box)
    assert box.shown_text() == LONG
    box.resize(160, height)
    shown = box.shown_text()
    assert shown.endswith("…") and LONG.startswith(shown[:-1]) and len(shown) < len(LONG)
    assert box.toolTip() == LONG
    box.setCurrentIndex(1)
    assert box.toolTip() == "Any bearer token"
    assert not box.grab().isNull()  # paints with the shortened text without complaint
