"""How Salesforce answers the stages' questions: SOQL paths, SystemModstamp, Collections of 200."""

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
from connectors.salesforce.schema import SCHEMAS

BATCH_SIZE = 200
"""Records per sObject Collections call: the API's maximum."""


def relationship_name(lookup_field: str) -> str:
    """The SOQL relationship name of a lookup field: ``PartnerAccountId`` → ``PartnerAccount``."""
    if lookup_field.endswith("__c"):
        return lookup_field[:-3] + "__r"
    return lookup_field[:-2] if lookup_field.endswith("Id") else lookup_field


class SalesforceDialect(Dialect):
    """Paths are SOQL names (``Amount``, ``PartnerAccount.Partner_Key__c``); no ``[index]``."""

    kind: ClassVar[str] = "salesforce"
    label: ClassVar[str] = "Salesforce"
    record_paths: ClassVar[RecordPaths] = RecordPaths("Id", "SystemModstamp", "IsDeleted")
    write_batch: ClassVar[int] = BATCH_SIZE
    partner_link: ClassVar[PartnerLink] = PartnerLink(
        "lookup",
        "Salesforce progress records need `partner_field:` (the lookup to the partner's "
        "Account, e.g. Partner_Account__c) so they show on the Account",
    )
    record_id_fields: ClassVar[frozenset[str]] = frozenset({"id"})
    key_max_length: ClassVar[int] = 255
    """External-id text fields hold at most 255 characters."""
    schemas: ClassVar[dict[str, ObjectSchema]] = SCHEMAS
    plan_manifest: ClassVar[str | None] = "salesforce/partnerplan-fields.yaml"

    def parent_reference(self, field: str, key_field: str, key: str) -> dict[str, Any] | None:
        """The relationship set by the parent's external id: ``{"Plan__r": {key_field: key}}``."""
        return {relationship_name(field): {key_field: key}}

    def modified_field(self, object: str) -> str:
        """SystemModstamp: it moves on every change, system updates included."""
        return "SystemModstamp"

    def api_url(self, source: Any) -> str:
        """The org's instance URL."""
        return str(source.instance_url)

    def record_url(self, source: Any, object: str, record_id: str) -> str | None:
        """``{instance}/lightning/r/{object}/{id}/view``.

        The instance's My Domain URL (``…my.salesforce.com``) redirects a Lightning path to
        the org's ``…lightning.force.com`` host, so the configured instance URL is enough.
        """
        instance = str(source.instance_url or "").rstrip("/")
        if not instance or not record_id:
            return None
        return f"{instance}/lightning/r/{object}/{record_id}/view"

    def read_path(
        self,
        object: str,
        path: str,
        steps: list[Step],
        *,
        extra_fields: tuple[str, ...] = (),
        filter_field: bool = False,
    ) -> FieldUse:
        """A SOQL field or relationship path, walked through the known lookups."""
        if any(index is not None for _, index in steps):
            return FieldUse(
                error=f"{path!r}: Salesforce fields have no [index]; write Field or Rel.Field"
            )
        names = [name for name, _ in steps]
        if path in extra_fields or names[0] in extra_fields:
            return FieldUse(fetch=path)
        schema, owner = self.schema(object), object
        for depth, name in enumerate(names):
            if schema is None:
                return FieldUse(fetch=path)
            if depth == len(names) - 1:
                if name not in schema.fields:
                    return FieldUse(fetch=path, error=unknown_field(owner, name, schema.fields))
                return FieldUse(fetch=path, picklist=schema.picklists.get(name))
            targets = {relationship_name(k): v for k, v in schema.lookups.items()}
            if name not in targets:
                return FieldUse(
                    fetch=path, error=unknown_field(f"{owner} (relationships)", name, targets)
                )
            owner = targets[name]
            schema = self.schema(owner)
        return FieldUse(fetch=path)  # pragma: no cover - the loop always returns
