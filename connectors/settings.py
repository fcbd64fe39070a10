"""What every source's settings share, and the base each CRM's settings model extends.

Each CRM declares its own settings model in ``connectors/<crm>/settings.py`` (a subclass of
:class:`SourceSettings` whose ``type`` is a ``Literal`` of its kind); the registry gathers them
into the ``sources:`` of settings.yaml (:func:`connectors.registry.Registry.settings_union`), so
adding a CRM never edits a hand-kept union here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from partnerplan.config import StrictModel


def _blank_is_none(value: object) -> object:
    """Read a blank ``ca_bundle`` as "not set".

    settings.yaml writes ``ca_bundle: ${SF_CA_BUNDLE:-}`` so that an unset variable means the
    system trust store. The substitution leaves ``""``, which ``requests`` would take as a path
    (and fail on) and hubspot-api-client as a file name; None is what both read as "default
    trust".
    """
    if isinstance(value, str) and not value.strip():
        return None
    return value


CaBundle = Annotated[str | None, BeforeValidator(_blank_is_none)]
"""A PEM file of CAs to trust instead of the system store; blank or absent: the system store."""


class Timeouts(StrictModel):
    """Explicit connect/read timeouts (seconds) for every CRM call."""

    connect: float = Field(default=10, gt=0)
    read: float = Field(default=120, gt=0)


class SourceSettings(StrictModel):
    """One CRM connection under ``sources:``; each CRM extends it with its own keys.

    Attributes:
        type: The CRM kind; each subclass narrows it to a ``Literal`` of its own kind, which
            is what tells the models apart in settings.yaml.
        ca_bundle: CAs to trust instead of the system store.
        budget_share: The share of the CRM's daily API allowance a sync may spend.
        timeouts: Connect and read timeouts of every call.
        lookback_seconds: How far before the watermark each incremental pull starts, so that
            records committed late are read again rather than missed.
        concurrent_streams: How many streams of this source one process syncs at once; unset,
            the connector's own default, what its CRM's published limits allow.
        rate_limits_backend: Where the pace under the CRM's limits is counted
            (:mod:`connectors.pacing`): ``memory`` (this process only), ``redis`` (the Redis
            of ``REDIS_URL``, shared by every worker holding the same token), ``auto`` (Redis
            when ``REDIS_URL`` is set, as it is for distributed workers; else memory).
        schema_cache_seconds: How long a describe (fields, properties) is reused before it is
            asked again, by this process and the next ones (the store keeps it); a field added
            in the CRM is seen within this time, and a field a stream misses is always
            re-checked before the stream fails.
    """

    type: str
    ca_bundle: CaBundle = None
    budget_share: float = Field(default=0.5, gt=0, le=1)
    timeouts: Timeouts = Timeouts()
    lookback_seconds: int = Field(default=300, ge=0)
    concurrent_streams: int | None = Field(default=None, ge=1, le=64)
    rate_limits_backend: Literal["auto", "memory", "redis"] = "auto"
    schema_cache_seconds: float = Field(default=600, ge=0)
