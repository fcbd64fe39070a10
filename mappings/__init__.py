"""The mapping layer: YAML mappings that turn raw CRM records into normalized activities.

Knows nothing of HTTP (records arrive as dicts) and nothing of SQL (activities leave as values).

Public surface::

    load_mappings(directory, sources) -> (MappingSet | None, [Problem])
    MappingSet.streams[name] -> CompiledStream (.spec(), .map(raw, deleted=), .map_many(raws))
    Activity / Rejection      what a record becomes
    unusable_references(...)  the cross-check with the metric catalogue

Modules: ``schema`` (pydantic, structure), ``kinds`` (the built-in kinds), ``paths`` (field
paths, checked by the source CRM's dialect), ``expressions`` + ``coerce`` (compiled rules),
``compiler`` (compiling a stream), ``compiled`` (the per-record hot path), ``loader`` (files →
MappingSet), ``usage``.
"""

from __future__ import annotations

from mappings.activity import Activity, Rejection
from mappings.compiled import CompiledStream
from mappings.loader import MappingSet, load_mappings
from mappings.usage import unusable_references

__all__ = [
    "Activity",
    "CompiledStream",
    "MappingSet",
    "Rejection",
    "load_mappings",
    "unusable_references",
]
