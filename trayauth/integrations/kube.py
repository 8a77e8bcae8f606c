"""``trayauth kube NAME``: a kubectl exec credential plugin.

kubectl (client-go) runs the command named in a kubeconfig ``users[].user.exec`` entry and reads
an ``ExecCredential`` from its stdout. It caches the token until ``expirationTimestamp`` and runs
the plugin again after that, or after the API server answered 401. We give the renewal moment
(the expiry less trayauth's renewal margin) as the expiration, so kubectl asks again while the
old token still works and the tray has already renewed it.

The answer's apiVersion follows the request (``KUBERNETES_EXEC_INFO``): v1 unless kubectl asked
for v1beta1.
"""

from __future__ import annotations

import json
import os
import time

API_V1 = "client.authentication.k8s.io/v1"
API_V1BETA1 = "client.authentication.k8s.io/v1beta1"
MAX_MARGIN = 60.0  # trayauth.domain.tokens.MAX_MARGIN; not imported, to keep this path light
MARGIN_FRACTION = 0.10


def requested_api_version(environ: dict[str, str] | None = None) -> str:
    raw = (os.environ if environ is None else environ).get("KUBERNETES_EXEC_INFO", "")
    if raw:
        try:
            info = json.loads(raw)
        except ValueError:
            info = None
        if isinstance(info, dict) and info.get("apiVersion") == API_V1BETA1:
            return API_V1BETA1
    return API_V1


def rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def exec_credential(
    token: str, expires_at: float | None, *, now: float | None = None, api_version: str = API_V1
) -> str:
    """The ExecCredential JSON kubectl reads."""
    status: dict[str, str] = {"token": token}
    if expires_at is not None:
        now = time.time() if now is None else now
        margin = min(MAX_MARGIN, MARGIN_FRACTION * max(0.0, expires_at - now))
        status["expirationTimestamp"] = rfc3339(max(now, expires_at - margin))
    return json.dumps({"apiVersion": api_version, "kind": "ExecCredential", "status": status}) + "\n"
