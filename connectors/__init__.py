"""Talking to CRMs: pulling changed records page by page, and writing values back.

Knows HTTP, authentication, pagination, retries and rate limits; knows nothing of SQL. Each CRM
lives in its own folder (``salesforce/``, ``hubspot/``) behind the same :class:`Connector`
protocol; the registry (:data:`REGISTRY`) maps a source's ``type:`` to its CRM, and a CRM's
:class:`Dialect` answers what the other stages need to know about it. ``README.md`` says how to
add a CRM.

Public surface::

    REGISTRY.get(kind) -> Crm (.settings, .connect, .dialect, .setup)
    REGISTRY.connect(name, settings) -> Connector
    Connector, Associating      the protocols every connector implements
    Page, Watermark, WriteResult, ApiUsage
    StreamSpec, Filter          what a stream asks a connector to fetch
    Dialect, FieldUse, ObjectSchema, RecordPaths, PartnerLink
    SourceSettings              the base of every CRM's settings model
    WantedObject, WantedProperty, CrmSetup
    RetryPolicy

Modules inside this package import each other directly, never through this file.
"""

from __future__ import annotations

from connectors.base import ApiUsage, Associating, Connector, Page, Watermark, WriteResult
from connectors.crms import REGISTRY
from connectors.dialect import Dialect, FieldUse, ObjectSchema, PartnerLink, RecordPaths
from connectors.registry import Crm, Registry
from connectors.retry import RetryPolicy
from connectors.settings import SourceSettings
from connectors.setup import CrmSetup, WantedObject, WantedProperty
from connectors.spec import Filter, StreamSpec

__all__ = [
    "REGISTRY",
    "ApiUsage",
    "Associating",
    "Connector",
    "Crm",
    "CrmSetup",
    "Dialect",
    "FieldUse",
    "Filter",
    "ObjectSchema",
    "Page",
    "PartnerLink",
    "RecordPaths",
    "Registry",
    "RetryPolicy",
    "SourceSettings",
    "StreamSpec",
    "WantedObject",
    "WantedProperty",
    "Watermark",
    "WriteResult",
]
