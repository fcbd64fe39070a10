"""Compiling field expressions into plain Python callables, once, at load time.

An :class:`~mappings.schema.Expr` becomes an ``Evaluator``: a function of the raw
record that returns the value or raises :class:`~partnerplan.errors.RecordError`. All parsing
(paths, transform names, map keys, operands) happens here; the per-record path is dictionary
lookups and a few function calls, with no YAML, no pydantic and no regex.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mappings.coerce import COERCIONS, to_decimal, to_string
from mappings.schema import Condition, Expr
from partnerplan.errors import RecordError

Raw = dict[str, Any]
Evaluator = Callable[[Raw], Any]
Step = Callable[[Any], Any]
Loc = tuple[str | int, ...]
Report = Callable[[Loc, str, str], None]
"""Report a problem: (location in the YAML document, message, severity)."""
PathUse = Callable[[str, Loc], tuple[str, ...] | None]
"""Check and record a field path; returns the field's known picklist values, if any."""

_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")
_MISSING = object()
WILDCARD = "*"


def canon(value: Any) -> Any:
    """The form values are compared in: booleans and numbers as the strings CRMs send."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(Decimal(repr(value)) if isinstance(value, float) else Decimal(value))
    return value


def parse_path(path: str) -> list[tuple[str, int | None]] | None:
    """``a.b[0].c`` as ``[("a", None), ("b", 0), ("c", None)]``; None if malformed."""
    steps: list[tuple[str, int | None]] = []
    for segment in path.split("."):
        match = _SEGMENT.match(segment)
        if match is None:
            return None
        steps.append((match.group(1), None if match.group(2) is None else int(match.group(2))))
    return steps


def _ids(value: Any) -> Any:
    # HubSpot associations as the API nests them ({"results": [{"id": ...}]}) read as id lists.
    if isinstance(value, dict) and isinstance(value.get("results"), list):
        return [item.get("id") for item in value["results"] if isinstance(item, dict)]
    return value


def path_getter(steps: Sequence[tuple[str, int | None]]) -> Evaluator:
    """A function reading the path from a raw record: missing keys and ``""`` read as None."""
    if len(steps) == 1 and steps[0][1] is None:
        key = steps[0][0]

        def get_one(raw: Raw) -> Any:
            value = raw.get(key)
            return None if value == "" else value

        return get_one
    frozen = tuple(steps)

    def get_path(raw: Raw) -> Any:
        value: Any = raw
        for key, index in frozen:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
            if index is not None:
                value = _ids(value)
                if not isinstance(value, list) or index >= len(value):
                    return None
                value = value[index]
        return None if value == "" else value

    return get_path


# --- transforms -------------------------------------------------------------------------------


def _text_op(name: str, op: Callable[[str], str]) -> Step:
    def apply(value: Any) -> Any:
        if isinstance(value, list):
            return [op(v) if isinstance(v, str) else v for v in value]
        if isinstance(value, str):
            return op(value)
        raise RecordError(f"transform {name} needs text, got {value!r}")

    return apply


def _split(separator: str) -> Step:
    def apply(value: Any) -> Any:
        parts = to_string(value).split(separator)
        return [part.strip() for part in parts if part.strip()]

    return apply


def _index(position: int) -> Step:
    def apply(value: Any) -> Any:
        if not isinstance(value, list):
            return value if position == 0 else None
        return value[position] if -len(value) <= position < len(value) else None

    return apply


_PLAIN_TRANSFORMS: dict[str, Step] = {
    "lower": _text_op("lower", str.lower),
    "upper": _text_op("upper", str.upper),
    "strip": _text_op("strip", str.strip),
}
TRANSFORMS = (*_PLAIN_TRANSFORMS, "split", "index")


def _transform(spec: str | dict[str, Any]) -> Step | str:
    """A transform step, or the message explaining why ``spec`` is not one."""
    if isinstance(spec, str):
        if spec in _PLAIN_TRANSFORMS:
            return _PLAIN_TRANSFORMS[spec]
        name = spec
    elif len(spec) == 1:
        name, arg = next(iter(spec.items()))
        if name == "split":
            if not isinstance(arg, str) or not arg:
                return 'split needs a separator string, e.g. {split: ";"}'
            return _split(arg)
        if name == "index":
            if not isinstance(arg, int) or isinstance(arg, bool):
                return "index needs a whole number, e.g. {index: 0}"
            return _index(arg)
    else:
        return 'a transform with an argument is a one-key mapping, e.g. {split: ";"}'
    hint = difflib.get_close_matches(str(name), TRANSFORMS, n=1)
    did_you_mean = f"did you mean {hint[0]!r}? " if hint else ""
    return f"unknown transform {name!r}; {did_you_mean}valid transforms: {', '.join(TRANSFORMS)}"


# --- conditions -------------------------------------------------------------------------------


def _ordered(left: Any, right: Any) -> tuple[Any, Any]:
    try:
        return to_decimal(left), to_decimal(right)
    except RecordError:
        return str(canon(left)), str(canon(right))


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _predicate(get: Evaluator, op: str, operand: Any) -> Callable[[Raw], bool]:
    if op == "is_null":
        return lambda raw: get(raw) is None
    if op == "not_null":
        return lambda raw: get(raw) is not None
    if op in ("eq", "ne"):
        target = canon(operand)
        if op == "eq":
            return lambda raw: canon(get(raw)) == target
        return lambda raw: canon(get(raw)) != target
    if op in ("in", "not_in"):
        targets = frozenset(canon(v) for v in operand or ())
        if op == "in":
            return lambda raw: canon(get(raw)) in targets
        return lambda raw: canon(get(raw)) not in targets
    compare = _COMPARE[op]

    def ordered(raw: Raw) -> bool:
        value = get(raw)
        return value is not None and compare(*_ordered(value, operand))

    return ordered


@dataclass
class Compiler:
    """Compiles expressions of one stream, reporting problems at their YAML location."""

    use_path: PathUse
    report: Report

    def path(self, path: str, loc: Loc) -> tuple[Evaluator, tuple[str, ...] | None]:
        """A getter for ``path`` and the field's known picklist values (None if unknown)."""
        steps = parse_path(path)
        if steps is None:
            self.report(
                loc,
                f"{path!r} is not a field path; write Field, Relationship.Field, "
                "properties.name or associations.companies[0]",
                "error",
            )
            return (lambda raw: None), None
        return path_getter(steps), self.use_path(path, loc)

    def condition(self, conditions: list[Condition], loc: Loc) -> Callable[[Raw], bool]:
        """All the conditions as one predicate."""
        predicates = []
        for index, cond in enumerate(conditions):
            get, _ = self.path(cond.field, (*loc, index, "field"))
            predicates.append(_predicate(get, cond.op, cond.operand))
        if len(predicates) == 1:
            return predicates[0]
        return lambda raw: all(p(raw) for p in predicates)

    def source(self, expr: Expr, loc: Loc) -> tuple[Evaluator, tuple[str, ...] | None]:
        """The value-source part of an expression (field / const / first_of / when)."""
        if expr.field is not None:
            return self.path(expr.field, (*loc, "field"))
        if "const" in expr.model_fields_set:
            constant = expr.const
            return (lambda raw: constant), None
        if expr.first_of is not None:
            options = [self.expr(e, (*loc, "first_of", i)) for i, e in enumerate(expr.first_of)]

            def first_of(raw: Raw) -> Any:
                for option in options:
                    value = option(raw)
                    if value is not None:
                        return value
                return None

            return first_of, None
        branches: list[tuple[Callable[[Raw], bool] | None, Evaluator]] = []
        for i, branch in enumerate(expr.when or ()):
            where = (*loc, "when", i)
            test = None if branch.if_ is None else self.condition(branch.if_, (*where, "if"))
            if branch.then is not None:
                result = self.expr(branch.then, (*where, "then"))
            else:
                constant = branch.value
                result = _constant(constant)
            branches.append((test, result))
            if test is None and i != len(expr.when or ()) - 1:
                self.report(where, "a branch without `if` always holds: make it the last", "error")

        def when(raw: Raw) -> Any:
            for test, result in branches:
                if test is None or test(raw):
                    return result(raw)
            return None

        return when, None

    def expr(self, expr: Expr, loc: Loc, implicit_type: str | None = None) -> Evaluator:
        """The whole expression as one evaluator."""
        get, picklist = self.source(expr, loc)
        steps: list[Step] = []
        for index, spec in enumerate(expr.transform):
            step = _transform(spec)
            if isinstance(step, str):
                self.report((*loc, "transform", index), step, "error")
            else:
                steps.append(step)
        if expr.map is not None:
            steps.append(self._map(expr, loc, steps, picklist))
        type_name = expr.type or implicit_type
        coerce = COERCIONS[type_name] if type_name else None
        return _evaluator(get, tuple(steps), expr.default, coerce, expr.required)

    def _map(self, expr: Expr, loc: Loc, before: list[Step], picklist: Any) -> Step:
        table = {canon(k): v for k, v in (expr.map or {}).items()}
        fallback = table.pop(WILDCARD, _MISSING)
        if fallback is _MISSING and picklist:
            unmapped = [v for v in picklist if canon(_run(before, v)) not in table]
            if unmapped:
                self.report(
                    (*loc, "map"),
                    f"values of {expr.field} not in the map: {', '.join(map(repr, unmapped))}; "
                    'records with them will be quarantined: map them or add a "*" fallback',
                    "warning",
                )

        def lookup(value: Any) -> Any:
            result = table.get(canon(value), fallback)
            if result is _MISSING:
                raise RecordError(
                    f'value {value!r} is not in the map; add it to `map:` or add a "*" fallback'
                )
            return result

        return lookup


def _run(steps: Sequence[Step], value: Any) -> Any:
    try:
        for step in steps:
            value = step(value)
    except RecordError:
        return value
    return value


def _constant(value: Any) -> Evaluator:
    return lambda raw: value


def _evaluator(
    get: Evaluator,
    steps: tuple[Step, ...],
    default: Any,
    coerce: Callable[[Any], Any] | None,
    required: bool,
) -> Evaluator:
    if not steps and default is None and not required:
        # The common case (a field, maybe typed) skips the general pipeline: it runs per record.
        if coerce is None:
            return get
        convert = coerce

        def coerced(raw: Raw) -> Any:
            value = get(raw)
            return None if value is None else convert(value)

        return coerced

    def evaluate(raw: Raw) -> Any:
        value = get(raw)
        if value is not None:
            for step in steps:
                value = step(value)
                if value is None:
                    break
        if value is None:
            value = default
        if value is not None and coerce is not None:
            value = coerce(value)
        if value is None and required:
            raise RecordError("required value is missing or empty")
        return value

    return evaluate
