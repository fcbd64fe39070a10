"""The pydantic schema of ``config/mappings/*.yaml``: structure only, checked once at load time.

Meaning (do the field paths exist, is the transform known, is the status one of the kind's) is
checked by :mod:`mappings.loader` while it compiles the rules; nothing here runs per
record. A field expression may be written as a plain string, short for ``{field: PATH}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from connectors.spec import FilterOp
from partnerplan.config import StrictModel

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
TypeName = Literal["decimal", "date", "datetime", "int", "bool", "string"]
COND_OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "is_null", "not_null")


def _shorthand(value: Any) -> Any:
    if isinstance(value, str):
        return {"field": value}
    if isinstance(value, dict):
        return value
    raise ValueError(
        f"{value!r} is not a field expression: write a field path (e.g. Amount, "
        "properties.amount) or a mapping with one of field/const/first_of/when; "
        "for a constant write {const: VALUE}"
    )


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class Condition(StrictModel):
    """``{field: PATH, OP: VALUE}``: true when the field's value compares so."""

    field: str
    eq: Any = None
    ne: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    gt: Any = None
    gte: Any = None
    lt: Any = None
    lte: Any = None
    is_null: Literal[True] | None = None
    not_null: Literal[True] | None = None

    @model_validator(mode="after")
    def _one_op(self) -> Condition:
        ops = [name for name in self.model_fields_set if name != "field"]
        if len(ops) != 1:
            raise ValueError(
                "a condition needs exactly one operator besides `field`: one of "
                + ", ".join(COND_OPS)
            )
        return self

    @property
    def op(self) -> str:
        """The operator's name as written (``in`` rather than ``in_``)."""
        name = next(n for n in self.model_fields_set if n != "field")
        return "in" if name == "in_" else name

    @property
    def operand(self) -> Any:
        """The value compared against."""
        return getattr(self, "in_" if self.op == "in" else self.op)


Conditions = Annotated[list[Condition], BeforeValidator(_listify)]


class Branch(StrictModel):
    """One branch of ``when``: a constant ``value`` or an expression ``then`` if ``if`` holds."""

    if_: Conditions | None = Field(default=None, alias="if")
    value: Any = None
    then: ExprIn | None = None

    @model_validator(mode="after")
    def _one_result(self) -> Branch:
        given = {"value", "then"} & self.model_fields_set
        if len(given) != 1:
            raise ValueError(
                "a `when` branch needs exactly one of `value` (a constant) or `then` "
                "(a field expression)"
            )
        return self


class Expr(StrictModel):
    """A field expression: one value source, then transform → map → default → type → required."""

    field: str | None = None
    const: Any = None
    first_of: list[ExprIn] | None = None
    when: list[Branch] | None = None
    transform: list[str | dict[str, Any]] = Field(default_factory=list)
    map: dict[Any, Any] | None = None
    default: Any = None
    type: TypeName | None = None
    required: bool = False

    @field_validator("map", mode="before")
    @classmethod
    def _map_is_mapping(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, dict):
            raise ValueError(
                "`map` must be a mapping of source value to normalized value, "
                'e.g. map: {Closed Won: won, Closed Lost: lost, "*": open}'
            )
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Expr:
        given = {"field", "const", "first_of", "when"} & self.model_fields_set
        if len(given) != 1:
            raise ValueError(
                "a field expression needs exactly one of `field`, `const`, `first_of` or "
                f"`when` (found {', '.join(sorted(given)) or 'none'})"
            )
        return self


ExprIn = Annotated[Expr, BeforeValidator(_shorthand)]


class FilterIn(StrictModel):
    """A source-side filter: the CRM returns only records for which all of them hold."""

    field: str
    op: FilterOp
    value: Any = None


class Fields(StrictModel):
    """The normalized fields of an activity, each a field expression."""

    partner: ExprIn | None = None
    status: ExprIn | None = None
    amount: ExprIn | None = None
    currency: ExprIn | None = None
    occurred_on: ExprIn | None = None
    created_at: ExprIn | None = None
    closed_at: ExprIn | None = None


class StreamIn(StrictModel):
    """One mapped CRM object: which records, which kind, which fields."""

    name: str = Field(pattern=NAME_PATTERN, max_length=100)
    object: str = Field(min_length=1, max_length=200)
    kind: str = Field(pattern=NAME_PATTERN, max_length=100)
    filter: list[FilterIn] = Field(default_factory=list)
    fields: Fields = Fields()
    attributes: dict[str, ExprIn] = Field(default_factory=dict)
    record_id: ExprIn | None = None
    modified: ExprIn | None = None
    modified_field: str | None = None
    deleted: ExprIn | None = None
    extra_fields: list[str] = Field(default_factory=list)


class KindIn(StrictModel):
    """A kind declared by the user, with its normalized statuses."""

    statuses: list[str] = Field(default_factory=list)


class MappingFile(StrictModel):
    """The whole of one ``config/mappings/*.yaml`` file."""

    version: Literal[1] = 1
    source: str = Field(min_length=1, max_length=100)
    type: str | None = Field(default=None, min_length=1)
    """The CRM kind; settings.yaml's source says it already, so this is rarely needed."""
    kinds: dict[str, KindIn] = Field(default_factory=dict)
    streams: list[StreamIn] = Field(default_factory=list)


Branch.model_rebuild()
Expr.model_rebuild()
