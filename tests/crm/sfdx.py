"""The shipped SFDX project (crm/salesforce) read into plain data, for the consistency tests.

Only what the tests compare is read: objects with their fields (type, reference, picklist values,
key flags, formula), and every metadata file as a parsed element tree keyed by its kind (the
file's ``.<kind>-meta.xml`` suffix). Standard fields that Salesforce adds to every custom object
are added here too, so a reference to ``OwnerId`` or ``CreatedDate`` resolves like a custom one.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "crm" / "salesforce"
NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
STANDARD_OBJECTS = {"Account", "User"}
"""Standard objects the package points at; it ships custom fields for Account only."""
USER_FIELDS = ("FirstName", "LastName", "Email", "Username")
"""The User fields the package's formulas may name."""
SUFFIX = re.compile(r"\.(?P<kind>[A-Za-z]+)-meta\.xml$")


def texts(element: ET.Element, path: str) -> list[str]:
    """Every text at ``path`` (``a/b`` in the metadata namespace)."""
    query = "/".join(f"md:{part}" for part in path.split("/"))
    return [e.text or "" for e in element.findall(query, NS)]


def each(element: ET.Element, tag: str) -> Iterator[ET.Element]:
    """Every descendant named ``tag`` in the metadata namespace, at any depth."""
    yield from element.iter(f"{{{NS['md']}}}{tag}")


def get(element: ET.Element, path: str) -> str:
    """The first text at ``path`` (``a/b`` in the metadata namespace), or ''."""
    found = texts(element, path)
    return found[0] if found else ""


@dataclass(frozen=True)
class Field:
    """One field of an object, custom or standard."""

    object: str
    name: str
    type: str
    required: bool = False
    reference_to: str = ""
    relationship: str = ""
    values: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    restricted: bool = False
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    formula: str = ""
    write_requires_master_read: bool = False
    standard: bool = False

    @property
    def computed(self) -> bool:
        """Formula, roll-up summary and auto-number fields: nobody writes them."""
        return bool(self.formula) or self.type in {"Summary", "AutoNumber"}

    @property
    def lookup(self) -> bool:
        """Whether the field points at another record."""
        return self.type in {"Lookup", "MasterDetail"}


@dataclass
class SObject:
    """An object the package defines or extends, with its fields by API name."""

    name: str
    sharing: str = ""
    external_sharing: str = ""
    compact_layout: str = ""
    record_pages: tuple[str, ...] = ()
    fields: dict[str, Field] = field(default_factory=dict)

    @property
    def detail(self) -> bool:
        """A master-detail child, whose sharing is its master's."""
        return any(f.type == "MasterDetail" for f in self.fields.values())


def _field(object_name: str, root: ET.Element) -> Field:
    return Field(
        object=object_name,
        name=get(root, "fullName"),
        type=get(root, "type"),
        required=get(root, "required") == "true",
        reference_to=get(root, "referenceTo"),
        relationship=get(root, "relationshipName"),
        values=tuple(texts(root, "valueSet/valueSetDefinition/value/fullName")),
        labels=tuple(texts(root, "valueSet/valueSetDefinition/value/label")),
        restricted=get(root, "valueSet/restricted") == "true",
        external_id=get(root, "externalId") == "true",
        unique=get(root, "unique") == "true",
        case_sensitive=get(root, "caseSensitive") == "true",
        formula=get(root, "formula"),
        write_requires_master_read=get(root, "writeRequiresMasterRead") == "true",
    )


def _standard(object_name: str, root: ET.Element | None) -> dict[str, Field]:
    """The standard fields of a custom object (or of Account), as the tests need them."""
    name_type = get(root, "nameField/type") if root is not None else "Text"
    out = [
        Field(object_name, "Id", "Id", standard=True),
        Field(object_name, "Name", name_type, standard=True),
        Field(object_name, "CreatedById", "Lookup", reference_to="User", standard=True),
        Field(object_name, "CreatedDate", "DateTime", standard=True),
        Field(object_name, "LastModifiedById", "Lookup", reference_to="User", standard=True),
        Field(object_name, "LastModifiedDate", "DateTime", standard=True),
        Field(object_name, "CurrencyIsoCode", "CurrencyIsoCode", standard=True),
    ]
    owned = root is None or get(root, "sharingModel") != "ControlledByParent"
    if owned:
        out.append(Field(object_name, "OwnerId", "Lookup", reference_to="User", standard=True))
    return {f.name: f for f in out}


@dataclass
class Package:
    """The whole project: objects, and every metadata file by kind."""

    objects: dict[str, SObject]
    files: dict[str, list[tuple[Path, ET.Element]]]

    def field(self, object_name: str, name: str) -> Field | None:
        """A field of an object, or None."""
        sobject = self.objects.get(object_name)
        return sobject.fields.get(name) if sobject else None

    def children(self, parent: str) -> dict[str, Field]:
        """Each child relationship of ``parent`` (``Plan_Sections__r``) to its lookup field."""
        return {
            f"{f.relationship}__r": f
            for sobject in self.objects.values()
            for f in sobject.fields.values()
            if f.lookup and f.reference_to == parent and f.relationship
        }

    def of(self, kind: str) -> list[tuple[Path, ET.Element]]:
        """Every file of one metadata kind (``listView``, ``flexipage``, ...)."""
        return self.files.get(kind, [])

    def resolve(self, object_name: str, path: str) -> Field | None:
        """A dotted field path from ``object_name`` (``Plan__r.Status__c``), or None."""
        *hops, last = path.split(".")
        current = object_name
        for hop in hops:
            lookup = self.field(
                current, hop.replace("__r", "__c") if hop.endswith("__r") else hop + "Id"
            )
            if lookup is None or not lookup.lookup:
                return None
            current = lookup.reference_to
        return self.field(current, last)


def metadata_files(root: Path = ROOT) -> Iterator[Path]:
    """Every ``*-meta.xml`` file of every package directory."""
    yield from sorted(root.rglob("*-meta.xml"))


def load(root: Path = ROOT) -> Package:
    """Parse the project (raises on a file that is not well-formed XML)."""
    files: dict[str, list[tuple[Path, ET.Element]]] = {}
    for path in metadata_files(root):
        match = SUFFIX.search(path.name)
        assert match, path
        element = ET.parse(path).getroot()  # noqa: S314 - our own repository files
        files.setdefault(match["kind"], []).append((path, element))
    objects: dict[str, SObject] = {}
    for folder in sorted((root / "force-app" / "main" / "default" / "objects").iterdir()):
        meta = folder / f"{folder.name}.object-meta.xml"
        element = ET.parse(meta).getroot() if meta.exists() else None  # noqa: S314
        sobject = SObject(folder.name)
        if element is not None:
            sobject.sharing = get(element, "sharingModel")
            sobject.external_sharing = get(element, "externalSharingModel")
            sobject.compact_layout = get(element, "compactLayoutAssignment")
            sobject.record_pages = tuple(
                get(o, "content")
                for o in element.findall("md:actionOverrides", NS)
                if get(o, "type") == "Flexipage"
            )
        sobject.fields = _standard(folder.name, element)
        for path in sorted((folder / "fields").glob("*.field-meta.xml")):
            custom = _field(folder.name, ET.parse(path).getroot())  # noqa: S314
            sobject.fields[custom.name] = custom
        objects[folder.name] = sobject
    user = SObject("User", fields=_standard("User", None))
    user.fields.update({n: Field("User", n, "Text", standard=True) for n in USER_FIELDS})
    objects.setdefault("User", user)
    return Package(objects, files)


FORMULA_PATH = re.compile(
    r"\b[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+|\b[A-Za-z][A-Za-z0-9_]*__c\b"
)
PICKVAL = re.compile(r'ISPICKVAL\(\s*([A-Za-z0-9_.]+)\s*,\s*"([^"]*)"\s*\)')


def formula_fields(formula: str) -> set[str]:
    """The field paths a formula names (``Status__c``, ``Plan__r.Version__c``, ``CreatedBy.X``)."""
    return set(FORMULA_PATH.findall(formula))


def picklist_literals(formula: str) -> set[tuple[str, str]]:
    """Each ``ISPICKVAL(field, "value")`` of a formula as (field path, value)."""
    return set(PICKVAL.findall(formula))
