"""The network: one httpx policy (``http``) and the loopback redirect server (``loopback``).

``import httpx`` also imports its command-line client (click, rich, pygments) whenever those
happen to be installed — about 15 MiB of memory in a long-running tray, and tens of
milliseconds for every CLI call that goes to the network, for a feature trayauth never uses.
Marking that one module absent makes httpx fall back to its small stub, as it does when the
``httpx[cli]`` extra is not installed.
"""

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
