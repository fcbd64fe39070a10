"""How HubSpot answers the stages' questions: record-shaped paths, batches of 100, associations."""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.dialect import (
    Dialect,
    FieldUse,
    ObjectSchema,
    PartnerLink,
    RecordPaths,
    Step,
    unknown_field,
)
from connectors.hubspot.schema import SCHEMAS, TOP_LEVEL, custom_name, standard_name

BATCH_SIZE = 100
"""Inputs per batch write: HubSpot's maximum."""
OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3", "tickets": "0-5"}
"""HubSpot's object type ids of the standard objects (record pages are addressed by them)."""
ASSOCIATE_BATCH = 100
"""Pairs per v4 association create call (kept at the write batch size)."""


class HubSpotDialect(Dialect):
    """Paths follow the API's record shape: ``properties.amount``, ``associations.companies[0]``."""

    kind: ClassVar[str] = "hubspot"
    label: ClassVar[str] = "HubSpot"
    record_paths: ClassVar[RecordPaths] = RecordPaths("id", "updatedAt", "archived")
    write_batch: ClassVar[int] = BATCH_SIZE
    associate_batch: ClassVar[int] = ASSOCIATE_BATCH
    partner_link: ClassVar[PartnerLink] = PartnerLink(
        "association",
        "HubSpot progress records need `associate: companies` so they show on the partner's "
        "company",
    )
    record_id_fields: ClassVar[frozenset[str]] = frozenset({"id", "hs_object_id"})
    key_max_length: ClassVar[int] = 255
    """Assumption: HubSpot text properties hold far more (65,536), but one key per target
    across both CRMs keeps the same 255-character limit as Salesforce's external ids."""
    schemas: ClassVar[dict[str, ObjectSchema]] = SCHEMAS
    plan_manifest: ClassVar[str | None] = "hubspot/partnerplan-properties.yaml"

    def modified_field(self, object: str) -> str:
        """``hs_lastmodifieddate``; contacts keep theirs in ``lastmodifieddate``."""
        is_contact = standard_name(object) == "contacts" or object == "0-1"
        return "lastmodifieddate" if is_contact else "hs_lastmodifieddate"

    def schema(self, object: str) -> ObjectSchema | None:
        """The known schema, whichever alias names a custom object."""
        return self.schemas.get(standard_name(custom_name(object)))

    def read_path(
        self,
        object: str,
        path: str,
        steps: list[Step],
        *,
        extra_fields: tuple[str, ...] = (),
        filter_field: bool = False,
    ) -> FieldUse:
        """``properties.NAME``, ``associations.TYPE[0]`` or a top-level key of the record."""
        head, index = steps[0]
        if len(steps) == 1 and index is None and head in TOP_LEVEL:
            return FieldUse()
        if filter_field and len(steps) == 1 and index is None:
            steps = [("properties", None), (head, None)]
            head = "properties"
        if head == "associations" and len(steps) == 2 and index is None:
            return FieldUse(association=steps[1][0])
        if head != "properties" or len(steps) != 2 or index is not None or steps[1][1] is not None:
            return FieldUse(
                error=f"{path!r} is not a HubSpot field path; write properties.NAME, "
                "associations.TYPE[0] or one of " + ", ".join(sorted(TOP_LEVEL))
            )
        name = steps[1][0]
        schema = self.schema(object)
        if schema is None or name in extra_fields or path in extra_fields:
            return FieldUse(fetch=name)
        if name not in schema.fields:
            return FieldUse(
                fetch=name, error=unknown_field(f"HubSpot {object}", name, schema.fields)
            )
        return FieldUse(fetch=name, picklist=schema.picklists.get(name))

    def api_url(self, source: Any) -> str:
        """The API host (``https://api.hubapi.com`` unless settings say otherwise)."""
        return str(source.base_url)

    def record_url(self, source: Any, object: str, record_id: str) -> str | None:
        """``{app_url}/contacts/{portal_id}/record/{object type id}/{id}``.

        The portal id (the "Hub ID") is in no record: a client reads it from
        ``GET /account-info/v3/details`` (``portalId``; ``uiDomain`` is the app host, e.g.
        ``app-eu1.hubspot.com``), and partnerplan takes both from the source's ``portal_id``
        and ``app_url`` settings, so that ``explain`` makes no call and needs no token.
        Assumption: record pages are addressed by object type id, known here for the
        standard objects (:data:`OBJECT_TYPE_IDS`); a custom object's ``2-…`` id is only
        known to the portal, so its records get no link.
        """
        portal = getattr(source, "portal_id", None)
        type_id = OBJECT_TYPE_IDS.get(object)
        if not portal or not type_id or not record_id:
            return None
        app = str(getattr(source, "app_url", "https://app.hubspot.com")).rstrip("/")
        return f"{app}/contacts/{portal}/record/{type_id}/{record_id}"

    def filter_field(self, path: str) -> str:
        """Search filters name the property itself, not its place in the record."""
        return path.removeprefix("properties.")
