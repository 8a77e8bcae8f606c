"""A notification service (``org.freedesktop.Notifications``) on a private D-Bus, run as its own
process the way a desktop's daemon is: every ``Notify`` it receives is printed as one JSON line
on stdout; a line ``invoke ID KEY`` on stdin makes it send ``ActionInvoked(ID, KEY)``, as a
daemon does when the user presses a notification's button.

Usage: python fake_notifications.py BUS_ADDRESS
"""

from __future__ import annotations

import json
import sys

from PySide6.QtCore import ClassInfo, QCoreApplication, QObject, QSocketNotifier, Signal, Slot
from PySide6.QtDBus import QDBusConnection

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


@ClassInfo({"D-Bus Interface": SERVICE})
class Service(QObject):
    ActionInvoked = Signal("uint", str)
    NotificationClosed = Signal("uint", "uint")

    def __init__(self) -> None:
        super().__init__()
        self.next_id = 0

    @Slot(str, "uint", str, str, str, "QStringList", "QVariantMap", int, result="uint")
    def Notify(
        self,
        app_name: str,
        replaces_id: int,
        app_icon: str,
        summary: str,
        body: str,
        actions: list[str],
        hints: dict[str, object],
        expire_timeout: int,
    ) -> int:
        self.next_id += 1
        record = {
            "id": self.next_id,
            "app_name": app_name,
            "replaces_id": replaces_id,
            "summary": summary,
            "body": body,
            "actions": list(actions),
            "hints": {k: str(v) for k, v in dict(hints).items()},
            "expire_timeout": expire_timeout,
        }
        print(json.dumps(record), flush=True)
        return self.next_id

    @Slot(result="QStringList")
    def GetCapabilities(self) -> list[str]:
        return ["actions", "body", "persistence"]

    @Slot(result="QString")
    def Ping(self) -> str:
        return "pong"


def main() -> None:
    app = QCoreApplication(sys.argv[:1])
    bus = QDBusConnection.connectToBus(sys.argv[1], "fake-notifications")
    service = Service()
    options = QDBusConnection.RegisterOption.ExportAllSlots | QDBusConnection.RegisterOption.ExportAllSignals
    if not (bus.registerObject(PATH, service, options) and bus.registerService(SERVICE)):
        sys.exit("could not take the notification service's name")
    print(json.dumps({"ready": True}), flush=True)

    def command() -> None:
        line = sys.stdin.readline()
        if not line:
            app.quit()
            return
        parts = line.split()
        if len(parts) == 3 and parts[0] == "invoke":
            service.ActionInvoked.emit(int(parts[1]), parts[2])

    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(command)
    app.exec()


if __name__ == "__main__":
    main()
