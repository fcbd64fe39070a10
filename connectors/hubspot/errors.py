"""The one place where a HubSpot failure becomes a partnerplan error.

hubspot-api-client raises a per-package ``ApiException`` (with ``status``, ``body``, ``headers``)
for HTTP errors, and raw urllib3 exceptions for timeouts and dropped connections. A 429's body
names its ``policyName``: ``TEN_SECONDLY_ROLLING`` (wait out the ten-second window),
the search ``SECONDLY`` limit (wait a second), or ``DAILY`` (the portal's allowance is spent:
stop, do not spin).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import urllib3

from connectors.errors import (
    AuthenticationFailed,
    DailyLimitReached,
    TransientHttpError,
)
from partnerplan.errors import (
    ConfigurationError,
    FatalError,
    PartnerplanError,
    RateLimited,
    RecordError,
)
from partnerplan.logs import redact

TEN_SECONDLY_WAIT = 10.0
"""HubSpot's burst window; its own SDKs wait this long after a TEN_SECONDLY_ROLLING 429."""
SECONDLY_WAIT = 1.0
"""The search API's per-second window."""
LOCKED_WAIT = 2.0
"""HubSpot documents 423 Locked as lasting 2 seconds."""


def body_json(body: Any) -> dict[str, Any]:
    """The decoded JSON error body, or ``{}``."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    value = (headers or {}).get("Retry-After")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def translate(exc: BaseException, source: str) -> PartnerplanError | None:
    """Map a hubspot-api-client / urllib3 exception to partnerplan's tree.

    Returns:
        The partnerplan error to raise (``from exc``), or None for an exception that is not an
        HTTP failure (a bug, which must surface as itself).
    """
    where = f"source {source!r}"
    status = getattr(exc, "status", None)
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return TransientHttpError(f"{where}: HubSpot call failed: {exc.__class__.__name__}")
    if not isinstance(status, int) or not hasattr(exc, "body"):
        return None
    headers = getattr(exc, "headers", None)
    body = body_json(exc.body)
    category = str(body.get("category") or body.get("errorType") or "")
    message = redact(str(body.get("message") or getattr(exc, "reason", "") or ""))[:400]
    what = f"{where}: HubSpot answered {status} {category}".rstrip()
    if status == 0:
        return FatalError(
            f"{where}: TLS verification of the HubSpot server failed ({message[:120]}); set "
            f"ca_bundle to the CA that signed its certificate"
        )
    if status == 401:
        return AuthenticationFailed(
            f"{what}: the private-app token was rejected; set a valid token (token: in "
            f"settings.yaml names the environment variable)"
        )
    if status == 403:
        return ConfigurationError(f"{what}: {message}; grant the private app the missing scopes")
    if status == 429:
        policy = str(body.get("policyName") or "")
        if policy == "DAILY":
            return DailyLimitReached(
                f"{what}: the portal's daily API allowance is spent; the sync stopped and "
                f"resumes on the next run"
            )
        wait = _retry_after(headers)
        if wait is None:
            wait = TEN_SECONDLY_WAIT if policy == "TEN_SECONDLY_ROLLING" else SECONDLY_WAIT
        return RateLimited(f"{what} {policy}: {message}", retry_after=wait)
    if status == 423:
        return RateLimited(f"{what}: {message}", retry_after=_retry_after(headers) or LOCKED_WAIT)
    if status == 477 or status >= 500:
        wait = _retry_after(headers)
        if wait is not None:
            return RateLimited(f"{what}: {message}", retry_after=wait)
        return TransientHttpError(f"{what}: {message}")
    if status == 404 or "Unable to infer object type" in message:
        return ConfigurationError(f"{what}: {message}; check the object type in the mapping")
    codes = {str(e.get("code", "")) for e in body.get("errors", []) if isinstance(e, dict)}
    if "PROPERTY_DOESNT_EXIST" in codes:
        return ConfigurationError(f"{what}: {message}; create the property or fix the mapping")
    if status in (400, 409):
        return RecordError(f"{what}: {message}")
    return FatalError(f"{what}: {message}")
