"""Compiling one validated stream definition into a :class:`CompiledStream`.

Semantic checks happen here, each reported at the YAML line it concerns: the kind exists, every
field path is known, transforms exist, statuses are the kind's, filters are well formed, and a
normalized field is not given a type it cannot have.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

from connectors.spec import Filter, StreamSpec
from mappings.compiled import SLOT_TYPES, CompiledStream, Rule, slot_rule
from mappings.expressions import Compiler, Loc
from mappings.kinds import RATE_FIELDS
from mappings.paths import PathChecker
from mappings.schema import Expr, FilterIn, StreamIn
from partnerplan.config import Document

_NO_VALUE_OPS = ("is_null", "not_null")
_LIST_OPS = ("in", "not_in")


def _constants(expr: Expr) -> Iterator[tuple[Any, Loc]]:
    """Every constant an expression can produce, with its location relative to the expression."""
    if expr.map is not None:
        for key, value in expr.map.items():
            yield value, ("map", key)
    elif "const" in expr.model_fields_set:
        yield expr.const, ("const",)
    for i, option in enumerate(expr.first_of or ()):
        yield from ((v, ("first_of", i, *loc)) for v, loc in _constants(option))
    for i, branch in enumerate(expr.when or ()):
        if branch.then is not None:
            yield from ((v, ("when", i, "then", *loc)) for v, loc in _constants(branch.then))
        else:
            yield branch.value, ("when", i, "value")
    if expr.default is not None:
        yield expr.default, ("default",)


class _StreamCompiler:
    def __init__(self, doc: Document, loc: Loc, stream: StreamIn, checker: PathChecker) -> None:
        self.doc, self.loc, self.stream, self.checker = doc, loc, stream, checker
        self.compiler = Compiler(self._use_path, self._report)

    def _report(self, loc: Loc, message: str, severity: str) -> None:
        self.doc.problems.append(self.doc.problem(loc, message, severity))

    def _use_path(self, path: str, loc: Loc) -> tuple[str, ...] | None:
        message, picklist = self.checker.check(path)
        if message:
            self._report(loc, message, "error")
        return picklist

    def rule(self, name: str, expr: Expr | None, loc: Loc, default_path: str, kind: str) -> Rule:
        expr = expr or Expr(field=default_path)
        return Rule(name, expr.field or name, self.compiler.expr(expr, loc, kind))

    def slot(self, name: str, statuses: tuple[str, ...]) -> Rule:
        expr: Expr | None = getattr(self.stream.fields, name)
        loc = (*self.loc, "fields", name)
        if expr is None:
            return Rule(name, name, lambda raw: None)
        wanted = SLOT_TYPES[name]
        if expr.type is not None and expr.type != wanted:
            self._report(
                (*loc, "type"),
                f"{name} is always a {wanted}; remove `type: {expr.type}` (put the value in "
                "`attributes:` if you need it as another type)",
                "error",
            )
        if name == "status" and statuses:
            self._check_statuses(expr, loc, statuses)
        return slot_rule(name, expr.field or name, self.compiler.expr(expr, loc, wanted))

    def _check_statuses(self, expr: Expr, loc: Loc, statuses: tuple[str, ...]) -> None:
        for value, where in _constants(expr):
            if value is None or value in statuses:
                continue
            hint = difflib.get_close_matches(str(value), statuses, n=1)
            suggestion = f"did you mean {hint[0]!r}? " if hint else ""
            self._report(
                (*loc, *where),
                f"status {value!r} is not a status of kind {self.stream.kind!r}; "
                f"{suggestion}statuses: {', '.join(statuses)}",
                "error",
            )

    def filters(self) -> tuple[Filter, ...]:
        out: list[Filter] = []
        for index, item in enumerate(self.stream.filter):
            loc = (*self.loc, "filter", index)
            message, _ = self.checker.check(item.field, filter_field=True)
            if message:
                self._report((*loc, "field"), message, "error")
            self._check_operand(item, loc)
            name = self.checker.dialect.filter_field(item.field)
            out.append(Filter(name, item.op, item.value))
        return tuple(out)

    def _check_operand(self, item: FilterIn, loc: Loc) -> None:
        if item.op in _LIST_OPS and not isinstance(item.value, list):
            self._report((*loc, "value"), f"`{item.op}` needs a list value, e.g. [a, b]", "error")
        elif item.op in _NO_VALUE_OPS and item.value is not None:
            self._report((*loc, "value"), f"`{item.op}` takes no value; remove it", "error")
        elif item.op not in _NO_VALUE_OPS + _LIST_OPS and item.value is None:
            self._report((*loc, "value"), f"`{item.op}` needs a value", "error")


def compile_stream(
    doc: Document,
    loc: Loc,
    source: str,
    stream: StreamIn,
    checker: PathChecker,
    kinds: Mapping[str, tuple[str, ...]],
) -> CompiledStream | None:
    """Check and compile one stream; problems go to ``doc.problems``.

    Args:
        doc: The mapping file (problems are located in it).
        loc: Where the stream sits in the file.
        source: The source name the file reads from.
        stream: The validated stream definition.
        checker: Checks paths against the source's CRM dialect and collects the fields.
        kinds: Every known kind (built in and declared) with its statuses.
    """
    statuses = kinds.get(stream.kind)
    if statuses is None:
        hint = difflib.get_close_matches(stream.kind, list(kinds), n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        doc.problems.append(
            doc.problem(
                (*loc, "kind"),
                f"unknown kind {stream.kind!r}; {suggestion}built-in kinds: "
                f"{', '.join(kinds)}; or declare it under `kinds:`",
            )
        )
        return None
    if stream.kind == "rate":
        _check_rate(doc, loc, stream)
    build = _StreamCompiler(doc, loc, stream, checker)
    dialect = checker.dialect
    defaults = dialect.record_paths
    record_id = build.rule(
        "record_id", stream.record_id, (*loc, "record_id"), defaults.record_id, "string"
    )
    modified = build.rule(
        "modified", stream.modified, (*loc, "modified"), defaults.modified, "datetime"
    )
    deleted = build.rule("deleted", stream.deleted, (*loc, "deleted"), defaults.deleted, "bool")
    slots = tuple(build.slot(name, statuses) for name in SLOT_TYPES)
    attributes = tuple(
        Rule(
            name,
            expr.field or f"attributes.{name}",
            build.compiler.expr(expr, (*loc, "attributes", name)),
        )
        for name, expr in stream.attributes.items()
    )
    filters = build.filters()
    modified_field = stream.modified_field or dialect.modified_field(stream.object)
    spec = StreamSpec(
        name=stream.name,
        source=source,
        object=stream.object,
        fields=tuple(checker.fields),
        modified_field=modified_field,
        filters=filters,
        associations=tuple(checker.associations),
    )
    lines = {"kind": doc.line_of((*loc, "kind"))}
    for name in stream.attributes:
        lines[f"attributes.{name}"] = doc.line_of((*loc, "attributes", name))
    return CompiledStream(
        name=stream.name,
        source=source,
        object=stream.object,
        kind=stream.kind,
        record_id=record_id,
        modified=modified,
        deleted=deleted,
        slots=slots,
        attributes=attributes,
        stream_spec=spec,
        file=str(doc.path),
        lines=lines,
    )


def _check_rate(doc: Document, loc: Loc, stream: StreamIn) -> None:
    """A ``rate`` stream maps a currency, its rate, its first day and the base currency."""
    missing = [f"fields.{name}" for name in RATE_FIELDS if getattr(stream.fields, name) is None]
    if "base" not in stream.attributes:
        missing.append("attributes.base")
    if missing:
        doc.problems.append(
            doc.problem(
                (*loc, "kind"),
                f"a `kind: rate` stream needs {', '.join(missing)}: currency (the ISO code), "
                "amount (units of it per one unit of the base currency), occurred_on (the "
                "first day the rate applies) and attributes.base (the base currency, e.g. "
                "{const: USD}); see config/mappings/README.md",
            )
        )
