"""What write-back needs to exist in a CRM, in CRM-neutral terms, and the setup protocol.

Write-back says what it writes (:class:`WantedObject`: an object, its properties and their value
kinds); each CRM that can create objects and fields through its API implements
:class:`CrmSetup` in its own folder, as a plan (only the missing pieces) and its application,
so that running it twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

ValueKind = Literal["text", "number", "percent", "datetime", "date", "choice", "flag"]
"""The kinds of value write-back sends; each CRM maps them to its own field types (``choice``:
one of ``options``; ``flag``: a checkbox)."""


@dataclass(frozen=True)
class WantedProperty:
    """A field write-back writes: its name, value kind, whether it is a unique key, and the
    options of a choice (their API values; labels are made from them)."""

    name: str
    kind: ValueKind
    label: str = ""
    unique: bool = False
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class WantedObject:
    """An object write-back writes to, and the fields it needs there.

    Attributes:
        object: A standard object, or a custom object's name.
        properties: The fields to ensure.
        custom: Create the object itself when the CRM lacks it.
        linked_to_partner: Its records are tied to the partner's record (create the link).
        label: The custom object's label.
        linked_to: Other objects of write-back its records are tied to (a section to its plan):
            where records are tied by association, the association is defined.
    """

    object: str
    properties: tuple[WantedProperty, ...]
    custom: bool = False
    linked_to_partner: bool = False
    label: str = ""
    linked_to: tuple[str, ...] = ()


class SetupStep(Protocol):
    """One change to the CRM."""

    def describe(self) -> str:
        """One line for the dry-run listing."""
        ...


class CrmSetup(Protocol):
    """Brings one CRM source to what write-back needs."""

    def plan(self, wanted: list[WantedObject]) -> Sequence[SetupStep]:
        """The missing pieces, in the order they must be created; empty when none."""
        ...

    def apply(self, steps: Sequence[SetupStep], echo: Callable[[str], None]) -> None:
        """Create each step's piece, in order."""
        ...
