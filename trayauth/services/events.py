"""Who hears what the services announce: one small bus, passed to each service that publishes.

The tray's account list and notifier subscribe; the accounts service, the renewal service and the
scheduler publish. No service calls another's private emitter.
"""

from __future__ import annotations

from collections.abc import Callable

from trayauth.domain.events import AccountEvent

Listener = Callable[[AccountEvent], None]


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Hear every event from now on; call the returned function to stop."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def publish(self, event: AccountEvent) -> None:
        for listener in list(self._listeners):
            listener(event)
