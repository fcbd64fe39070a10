"""A CRM's dialect: the answers the stages to the right need about one CRM, asked by kind.

Mappings, write-back and the worker never branch on a CRM's name or copy its constants; they
ask the dialect of the source's kind (:mod:`connectors.registry`). Each CRM's folder subclasses
:class:`Dialect` once (``connectors/<crm>/dialect.py``).

The offline field checks of ``partnerplan validate`` read :attr:`Dialect.schemas`: the objects
the CRM is known to have before any call is made. An object missing there is not checked
offline; every run checks every mapped field against the CRM's own describe before the first
page is pulled, whatever the schema says.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

EXTRA_HINT = "if your org has it, list it under `extra_fields:` of this stream"
Step = tuple[str, int | None]
"""One segment of a field path: a name and an optional ``[index]``."""


@dataclass(frozen=True)
class ObjectSchema:
    """The fields of one CRM object: lookups name their target object, picklists their values."""

    fields: frozenset[str]
    lookups: Mapping[str, str] = field(default_factory=dict)
    picklists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordPaths:
    """Where a raw record of this CRM keeps its id, its modification time and its deleted flag.

    These are the mapping's defaults for ``record_id:``, ``modified:`` and ``deleted:``.
    """

    record_id: str
    modified: str
    deleted: str


@dataclass(frozen=True)
class FieldUse:
    """What reading one field path of a record asks of the CRM, or why it cannot be read.

    Attributes:
        fetch: The field (or relationship path) the connector must request.
        association: An associated object type whose ids the connector must attach.
        picklist: The field's known values, when the schema lists them.
        error: Why the path is wrong (the message names the field and the fix).
    """

    fetch: str | None = None
    association: str | None = None
    picklist: tuple[str, ...] | None = None
    error: str | None = None


@dataclass(frozen=True)
class PartnerLink:
    """How a progress record is tied to its partner's record in this CRM.

    Attributes:
        via: ``lookup``: a lookup field on the progress record holds the partner's record id
            (write-back's ``partner_field:``); ``association``: the progress record is
            associated with the partner's record (write-back's ``associate:``).
        hint: What to write in writeback.yaml when the link is missing.
    """

    via: Literal["lookup", "association"]
    hint: str


def unknown_field(owner: str, name: str, known: object) -> str:
    """``owner has no field 'name'; did you mean ...?`` with the extra_fields hint."""
    options = sorted(known) if isinstance(known, set | frozenset | dict | list) else []
    hint = difflib.get_close_matches(name, options, n=1)
    suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
    return f"{owner} has no field {name!r}{suggestion} ({EXTRA_HINT})"


class Dialect:
    """The base every CRM's dialect extends; the class attributes are the CRM's constants.

    Attributes:
        kind: The CRM kind, as ``type:`` names it in settings.yaml.
        label: The CRM's name for people (messages, tables).
        record_paths: Default id / modified / deleted paths of a raw record.
        write_batch: Records per write call: the CRM's batch maximum.
        associate_batch: Associations per call; 0 when records are not associated.
        partner_link: How progress records point at the partner.
        record_id_fields: Fields that hold a record's own id: never written, never checked.
        key_max_length: The longest external id (unique key value) the CRM stores; a progress
            key longer than this is replaced by a stable hash.
        schemas: Objects known without asking the CRM (see the module docstring).
        plan_manifest: Where the plan push's field manifest of this CRM lives, inside the
            shipped ``crm/`` directory (None: plans are not pushed to this CRM).
    """

    kind: ClassVar[str]
    label: ClassVar[str]
    record_paths: ClassVar[RecordPaths]
    write_batch: ClassVar[int]
    associate_batch: ClassVar[int] = 0
    partner_link: ClassVar[PartnerLink]
    record_id_fields: ClassVar[frozenset[str]] = frozenset({"id"})
    key_max_length: ClassVar[int] = 255
    schemas: ClassVar[Mapping[str, ObjectSchema]] = {}
    plan_manifest: ClassVar[str | None] = None

    def parent_reference(self, field: str, key_field: str, key: str) -> dict[str, Any] | None:
        """How a record names a parent of this package by the parent's key.

        A CRM with relationship upserts sets the parent inline (Salesforce:
        ``{"Plan__r": {"External_Id__c": key}}``), so no id lookup and no extra call is needed;
        a CRM that ties records by association answers None, and the push associates the
        records after writing them.
        """
        return None

    def modified_field(self, object: str) -> str:
        """The field an object's watermark follows (its last-modified timestamp)."""
        raise NotImplementedError

    def schema(self, object: str) -> ObjectSchema | None:
        """The known schema of ``object``, or None when it is only known to the CRM."""
        return self.schemas.get(object)

    def read_path(
        self,
        object: str,
        path: str,
        steps: list[Step],
        *,
        extra_fields: tuple[str, ...] = (),
        filter_field: bool = False,
    ) -> FieldUse:
        """What reading ``path`` (parsed as ``steps``) of an ``object`` record asks of the CRM.

        Args:
            object: The stream's CRM object.
            path: The path as the mapping writes it (for messages).
            steps: The parsed path, e.g. ``[("properties", None), ("amount", None)]``.
            extra_fields: The stream's ``extra_fields:`` (fields the schema does not list).
            filter_field: True for a source filter's field, which names a field as the
                CRM's query language does rather than as the record nests it.
        """
        raise NotImplementedError

    def filter_field(self, path: str) -> str:
        """A source filter's field as the CRM's query names it."""
        return path

    def api_url(self, source: Any) -> str | None:
        """The base URL of the source's API (what a preflight resolves and connects to).

        None when the CRM has no fixed base URL: the preflight then only checks the login.
        """
        return None

    def record_url(self, source: Any, object: str, record_id: str) -> str | None:
        """A link that opens the record in the CRM's own app, or None when it cannot be built.

        Built from the source's settings alone (no call: ``explain`` works without secrets).
        """
        return None
