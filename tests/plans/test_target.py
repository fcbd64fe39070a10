"""A target's definition: declared once, stored as columns, read back by the engine unchanged."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import get_type_hints

from sqlmodel import Session

from plans.engine import _load_targets, _Selection
from plans.store import TargetRow
from plans.target import DEFINITION_FIELDS, TargetDefinition
from tests.plans.factories import add_partners, plan, store_plans


def test_every_definition_field_is_a_target_column_of_the_same_type():
    """The table cannot inherit the definition, so each field must exist there, same type."""
    hints = get_type_hints(TargetDefinition)
    columns = {name: TargetRow.model_fields[name].annotation for name in DEFINITION_FIELDS}
    assert hints == columns


def test_the_definition_fields_are_the_dataclass_fields_in_order():
    """DEFINITION_FIELDS lists TargetDefinition's fields, the order they are declared in."""
    assert tuple(f.name for f in fields(TargetDefinition)) == DEFINITION_FIELDS


def test_the_engine_reads_back_the_definition_the_plan_file_gave(engine):
    """Plan file → store → engine: every definition field arrives unchanged, on each backend."""
    given = {
        "metric": "won_revenue",
        "value": 1500,
        "currency": "EUR",
        "weight": 2,
        "filters": {"product_line": "Platform"},
        "phasing": {"mode": "monthly"},
    }
    written = plan("a", "P-1", "2026-Q2", [given])
    with Session(engine) as session:
        add_partners(session, "P-1")
        store_plans(session, [written])
        loaded, _ = _load_targets(session, _Selection())
    expected = {name: getattr(written.targets[0], name) for name in DEFINITION_FIELDS}
    assert [expected] == [{name: getattr(t, name) for name in DEFINITION_FIELDS} for t in loaded]
    assert Decimal("1500") == loaded[0].value
