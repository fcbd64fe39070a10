"""The one place where a Salesforce failure becomes a partnerplan error.

simple-salesforce raises one exception class per HTTP status (300, 400, 401, 403, 404, other);
``requests`` raises its own for timeouts and dropped connections. :func:`translate` maps each to
the branch of :mod:`partnerplan.errors` that says what the caller does about it: retry, renew the
session, stop at a page boundary, fix the configuration, quarantine the record, or stop.
"""

from __future__ import annotations

from typing import Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.errors import (
    AuthenticationFailed,
    DailyLimitReached,
    QueryLocatorExpired,
    SessionExpired,
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

_CONFIG_CODES = {
    "INVALID_FIELD",
    "INVALID_TYPE",
    "MALFORMED_QUERY",
    "INVALID_OPERATION",
    "NOT_FOUND",
    "INSUFFICIENT_ACCESS",
    "INSUFFICIENT_ACCESS_OR_READONLY",
    "API_DISABLED_FOR_ORG",
    "INVALID_FIELD_FOR_INSERT_UPDATE",
    "INVALIDJOB",
}


def error_code(content: Any) -> str:
    """The ``errorCode`` of a Salesforce error body (a JSON array), or ``""``."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode") or content[0].get("statusCode") or "")
    return ""


def _message(content: Any) -> str:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("message", ""))
    return str(content)[:300]


def translate(
    exc: BaseException, source: str, retry_after: float | None = None
) -> PartnerplanError | None:
    """Map a simple-salesforce / requests exception to partnerplan's tree.

    Args:
        exc: What the call raised.
        source: The source's name, for the message.
        retry_after: The ``Retry-After`` of the failed response, when it had one.

    Returns:
        The partnerplan error to raise (``from exc``), or None for an exception that is not an
        HTTP failure (a bug, which must surface as itself).
    """
    where = f"source {source!r}"
    if isinstance(exc, requests.exceptions.SSLError):
        return FatalError(
            f"{where}: TLS verification of the Salesforce server failed; set ca_bundle to the "
            f"CA that signed its certificate (verification is never turned off)"
        )
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return TransientHttpError(f"{where}: Salesforce call failed: {exc.__class__.__name__}")
    if isinstance(exc, SalesforceAuthenticationFailed):
        return AuthenticationFailed(
            f"{where}: Salesforce rejected the credentials ({redact(str(exc))}); fix auth: in "
            f"settings.yaml"
        )
    if isinstance(exc, SalesforceOperationError):
        return TransientHttpError(f"{where}: Bulk API job failed: {redact(str(exc))[:300]}")
    if not isinstance(exc, SalesforceError):
        return None
    code, message = error_code(exc.content), redact(_message(exc.content))
    what = f"{where}: Salesforce {exc.resource_name or 'call'} answered {exc.status} {code}"
    if isinstance(exc, SalesforceExpiredSession):
        return SessionExpired(f"{what}: the session expired or is invalid")
    if isinstance(exc, SalesforceMalformedRequest):
        if code == "QUERY_TIMEOUT":
            return TransientHttpError(f"{what}: {message}")
        if code == "INVALID_QUERY_LOCATOR":
            return QueryLocatorExpired(f"{what}: the query cursor expired")
        if code in _CONFIG_CODES:
            return ConfigurationError(f"{what}: {message}; fix the mapping or the org")
        return RecordError(f"{what}: {message}")
    if isinstance(exc, SalesforceRefusedRequest):
        if code == "REQUEST_LIMIT_EXCEEDED" and "TotalRequests" in message:
            return DailyLimitReached(
                f"{what}: the org's daily API allowance is spent; the sync stopped and resumes "
                f"on the next run after the allowance recovers"
            )
        if code == "REQUEST_LIMIT_EXCEEDED":
            return RateLimited(f"{what}: {message}", retry_after=retry_after)
        return ConfigurationError(
            f"{what}: {message}; give the integration user access to this object and its fields"
        )
    if isinstance(exc, SalesforceResourceNotFound):
        return ConfigurationError(f"{what}: {message}; check the object name in the mapping")
    if isinstance(exc, SalesforceMoreThanOneRecord):
        return RecordError(f"{what}: the external id matches more than one record")
    if exc.status == 429 or (exc.status >= 500 and retry_after is not None):
        return RateLimited(f"{what}: {message}", retry_after=retry_after)
    if exc.status >= 500:
        return TransientHttpError(f"{what}: {message}")
    return FatalError(f"{what}: {message}")
