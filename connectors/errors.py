"""Connector-specific errors, each a subclass of one branch of :mod:`partnerplan.errors`.

::

    ConfigurationError
    └── MissingField            the CRM object lacks a field the mapping reads
    RetriableError
    ├── SessionExpired          the CRM rejected our token (401): re-authenticate once, retry
    ├── QueryLocatorExpired     a Salesforce query cursor expired: restart after the last page
    ├── PaceUnavailable         the Redis that keeps the shared pace did not answer
    └── TransientHttpError      429 / 5xx / timeouts / dropped connections
        └── (RateLimited)       partnerplan.errors.RateLimited, with ``retry_after``
    BudgetExhausted
    └── DailyLimitReached       the CRM itself refused the call: the daily allowance is spent
    FatalError
    ├── AuthenticationFailed    the CRM rejected our credentials (a fresh token included)
    └── DeletionsOutOfReach     deletions were last listed longer ago than the CRM keeps them

The callers above the connectors catch only the partnerplan bases; these subclasses exist so
that the connectors' own retry loops can tell the cases apart.
"""

from __future__ import annotations

from partnerplan.errors import BudgetExhausted, ConfigurationError, FatalError, RetriableError


class MissingField(ConfigurationError):
    """A mapping reads a field the CRM object does not have (or the token cannot see)."""

    def __init__(self, source: str, object: str, fields: list[str], hint: str = "") -> None:
        self.object = object
        self.fields = fields
        names = ", ".join(repr(f) for f in fields)
        plural = "fields" if len(fields) > 1 else "field"
        super().__init__(
            f"source {source!r}: object {object!r} has no {plural} {names}; fix the field name "
            f"in the mapping, or create the field in the CRM and give the integration user "
            f"access to it{hint}"
        )


class SessionExpired(RetriableError):
    """The CRM rejected the access token; a fresh login may fix it (once)."""


class QueryLocatorExpired(RetriableError):
    """A Salesforce query cursor (nextRecordsUrl) is no longer valid."""


class PaceUnavailable(RetriableError):
    """The Redis that keeps the pace shared by every worker did not answer (the call was not
    sent: sending it unpaced could overrun the CRM's limits for every worker)."""


class TransientHttpError(RetriableError):
    """A 5xx, a timeout or a dropped connection: the same call may work after a pause."""


class DailyLimitReached(BudgetExhausted):
    """The CRM refused a call because the org's/portal's daily API allowance is spent."""


class AuthenticationFailed(FatalError):
    """The CRM rejected our credentials; a human must fix them."""


class DeletionsOutOfReach(FatalError):
    """The CRM keeps deleted records for a while only, and they were last listed before that.

    Records deleted (and purged) in between can no longer be listed, so an incremental run
    would keep counting them; only a full pull (``run --full``) notices that they are gone.
    """
