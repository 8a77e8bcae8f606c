"""Does a dialog fit? Every field at least its size hint tall, no two widgets overlapping, every
label's text fully shown — checked on the laid-out widgets, the way a person would look.

Run as a script (``python -m tests.gui.layout_check``) it builds every dialog the tray shows
(Add account for every preset, Log in again, Settings, Inspect, About, Activity) under the
QT_SCALE_FACTOR it was started with, and prints one JSON line of problems; the test runs it at
scale 1 and 2 (the scale factor is read once, when Qt starts, hence a process per scale).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QWidget,
)

FIELDS = (QLineEdit, QComboBox, QAbstractSpinBox, QAbstractButton)


def _visible(widget: QWidget, root: QWidget) -> bool:
    return widget.isVisibleTo(root) and widget.width() > 0 and widget.height() > 0


def _rect(widget: QWidget, root: QWidget) -> QRect:
    """The part of ``widget`` one can see in ``root``: clipped by every parent (a scroll area's
    viewport hides what is scrolled away)."""
    rect = QRect(widget.mapTo(root, widget.rect().topLeft()), widget.size())
    parent = widget.parentWidget()
    while parent is not None and parent is not root:
        rect = rect.intersected(QRect(parent.mapTo(root, parent.rect().topLeft()), parent.size()))
        parent = parent.parentWidget()
    return rect


def problems(root: QWidget, where: str) -> list[str]:
    found: list[str] = []
    kinds = (*FIELDS, QLabel)
    leaves = [w for w in root.findChildren(QWidget) if isinstance(w, kinds) and _visible(w, root)]
    # Widgets inside another leaf (a line edit's clear button, a spin box's line edit) are its own.
    leaves = [w for w in leaves if not any(o is not w and o.isAncestorOf(w) for o in leaves)]
    for w in leaves:
        text = w.text() if isinstance(w, (QLabel, QAbstractButton)) else ""
        name = w.objectName() or text or type(w).__name__
        if isinstance(w, FIELDS) and w.height() < w.sizeHint().height():
            found.append(f"{where}: {name!r} squeezed to {w.height()} px < {w.sizeHint().height()} px")
        if isinstance(w, QLabel) and w.text() and w.pixmap().isNull() is not False:
            if w.wordWrap():
                need = w.heightForWidth(w.width())
                if need > w.height() + 1:
                    found.append(f"{where}: label {w.text()[:40]!r} cut: {w.height()} px < {need} px")
            elif w.width() + 1 < w.sizeHint().width() or w.height() + 1 < w.sizeHint().height():
                found.append(f"{where}: label {w.text()[:40]!r} cut ({w.width()}x{w.height()} < hint)")
    rects = [(w, _rect(w, root)) for w in leaves]
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1 :]:
            overlap = ra.intersected(rb)
            if overlap.width() > 1 and overlap.height() > 1:
                first, second = a.objectName() or type(a).__name__, b.objectName() or type(b).__name__
                found.append(f"{where}: {first} overlaps {second}")
    return found


def settle(app: QApplication, widget: QWidget) -> None:
    widget.show()
    for _ in range(int(os.environ.get("SETTLE", "5"))):
        app.processEvents()
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def check_all() -> list[str]:
    import asyncio

    from trayauth.domain.model import TokenSet
    from trayauth.domain.presets import PresetCatalog
    from trayauth.services.broker import Broker
    from trayauth.storage.store import Store
    from trayauth.ui.state.activity import ActivityLog
    from trayauth.ui.state.tasks import Tasks
    from trayauth.ui.widgets.about import AboutDialog
    from trayauth.ui.widgets.activity import ActivityDialog
    from trayauth.ui.widgets.dialogs.inspect import InspectDialog
    from trayauth.ui.widgets.dialogs.login import LoginDialog
    from trayauth.ui.widgets.dialogs.settings import SettingsDialog

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    loop = asyncio.new_event_loop()
    found: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "config")
        broker = Broker(store, PresetCatalog(store.paths.presets_dir))
        tasks = Tasks(loop=loop)
        quiet: dict[str, Any] = {"open_url": lambda _u: False, "copy_text": lambda _t: None}
        add = LoginDialog(broker, tasks, account=None, **quiet)
        for preset in add.presets:
            add.select_preset(preset.id)
            settle(app, add)
            found += problems(add, f"Add account / {preset.id}")
        add.reject()
        from trayauth.domain.model import Account

        for preset in add.presets:
            name = f"acct-{preset.id}"
            plain = [f for f in preset.fields if not f.secret]
            settings = {f.key: "https://example.com" if f.kind == "url" else "x" for f in plain}
            broker.add(Account(name, preset.id, settings))
            again = LoginDialog(broker, tasks, account=name, **quiet)
            settle(app, again)
            found += problems(again, f"Log in again / {preset.id}")
            again._reveal_settings()
            settle(app, again)
            found += problems(again, f"Log in again, settings shown / {preset.id}")
            again.reject()
        settings = SettingsDialog(
            store.config,
            [f"acct-{p.id}" for p in add.presets],
            store.config.load().app,
            key_description=f"key file {store.paths.root}/a/long/path/to/the/vault.key (no keyring here)",
        )
        settle(app, settings)
        found += problems(settings, "Settings")
        from trayauth.domain.tokens import inspect_token

        token = TokenSet("header.eyJzdWIiOiJ4In0.sig", expires_at=None)
        inspect = InspectDialog(
            "acct", "Bearer token (pasted)", inspect_token(token), copy_text=lambda _t: None
        )
        settle(app, inspect)
        found += problems(inspect, "Inspect")
        about = AboutDialog([("Config", f"{tmp}/config/config.toml"), ("Keyring", "in use")])
        settle(app, about)
        found += problems(about, "About")
        activity = ActivityDialog(ActivityLog(lambda: 0.0))
        settle(app, activity)
        found += problems(activity, "Activity")
        loop.run_until_complete(tasks.aclose())
        loop.run_until_complete(broker.aclose())
    loop.close()
    return found


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    print(json.dumps({"scale": os.environ.get("QT_SCALE_FACTOR", "1"), "problems": check_all()}))
