"""The services are the only way in: nothing above them reaches into the storage behind the broker."""

from __future__ import annotations

import ast
from pathlib import Path

import trayauth
from trayauth.services.broker import Broker

PACKAGE = Path(trayauth.__file__).parent
BELOW = ("services", "storage")  # the layers that own the store


def reach_arounds(path: Path) -> list[str]:
    """``….broker.store`` (or ``_broker.store``) anywhere in the module at ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr == "store":
            owner = ast.unparse(node.value)
            if owner.split(".")[-1] in ("broker", "_broker"):
                found.append(f"{path.name}:{node.lineno} {owner}.store")
    return found


def test_nothing_above_the_services_reaches_into_the_brokers_store() -> None:
    found = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in BELOW
        for hit in reach_arounds(path)
    ]
    assert found == []


def test_the_scan_sees_a_reach_around(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("def f(self, broker):\n    return self.broker.store.vault, broker.store\n")
    assert sorted(reach_arounds(sample)) == ["x.py:2 broker.store", "x.py:2 self.broker.store"]


def test_the_app_service_reads_and_writes_app_settings_and_knows_the_key(isolated: Path) -> None:
    broker = Broker.open()
    assert broker.paths.root == isolated
    assert broker.app_settings().default is None and not broker.has_vault()
    saved = broker.update_app(notify_lead_seconds=120)
    assert saved.notify_lead_seconds == 120 and broker.app_settings().notify_lead_seconds == 120
    assert broker.key_movable() is False  # no vault yet: nothing to move
