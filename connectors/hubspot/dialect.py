"""How HubSpot answers the stages' questions: record-shaped paths, batches of 100, associations."""

from __future__ import annotations

from typing import ClassVar

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

    def filter_field(self, path: str) -> str:
        """Search filters name the property itself, not its place in the record."""
        return path.removeprefix("properties.")
