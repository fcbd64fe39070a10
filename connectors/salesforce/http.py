"""The `requests` session every Salesforce call goes through: pinned TLS trust, timeouts, counting.

simple-salesforce sends every call (REST, login, Bulk 2.0) through the ``requests.Session`` it is
given, so this one class is where three guarantees live:

* **A configured CA bundle wins.** With ``trust_env`` on (the default, needed for proxies),
  ``requests`` replaces ``Session.verify`` by ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` when they
  are set; a source's ``ca_bundle`` would then be silently ignored. Verification is never off.
* **Explicit connect/read timeouts on every call**; simple-salesforce sets none, and a hung
  socket would otherwise stall a sync forever.
* **Every response is observed**: counted, and its headers handed to the budget.
* **Every request is paced** (:mod:`connectors.pacing`): it holds one of the org's in-flight
  slots, shared by every thread and worker process, while it is sent and answered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from connectors.pacing import Pacer
from connectors.settings import Timeouts

ResponseHook = Callable[[requests.Response], None]


class CrmSession(requests.Session):
    """A ``requests.Session`` with pinned CA trust, default timeouts and a response hook."""

    def __init__(
        self,
        ca_bundle: str | None,
        timeouts: Timeouts,
        on_response: ResponseHook | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        super().__init__()
        self.ca_bundle = ca_bundle
        self.verify = ca_bundle or True
        self.timeouts = (timeouts.connect, timeouts.read)
        self.on_response = on_response
        self.pacer = pacer
        self.calls = 0

    def merge_environment_settings(
        self,
        url: Any,
        proxies: Any,
        stream: Any,
        verify: Any,
        cert: Any,
    ) -> Any:
        """Merge env settings as requests does, except that a configured CA bundle wins."""
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.ca_bundle:
            settings["verify"] = self.ca_bundle
        elif settings.get("verify") is False:
            settings["verify"] = True
        return settings

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        """Send one request with the default timeouts, then count and observe the response."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeouts
        self.calls += 1
        if self.pacer is None:
            response = super().request(method, url, *args, **kwargs)
        else:
            with self.pacer.call():
                response = super().request(method, url, *args, **kwargs)
        if self.on_response is not None:
            self.on_response(response)
        return response

    def __repr__(self) -> str:
        return f"CrmSession(ca_bundle={self.ca_bundle!r}, calls={self.calls})"
