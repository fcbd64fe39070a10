"""The cross-check with the metric catalogue: mapped kinds and attributes no metric can use."""

from __future__ import annotations

from mappings.usage import unusable_references
from tests.mappings.conftest import SHIPPED


def _line_of(text: str) -> int:
    lines = (SHIPPED / "salesforce.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.strip() == text)


def test_a_kind_no_metric_uses_is_reported_at_its_line(shipped):
    """A stream whose kind no metric reads is an error at the stream's `kind:` line."""
    usable = {(kind, "*") for kind in shipped.kinds if kind != "marketing"}
    problems = unusable_references(shipped, usable)
    assert [(p.file.rsplit("/", 1)[-1], p.line, p.key) for p in problems] == [
        ("salesforce.yaml", _line_of("kind: marketing"), "sf_marketing.kind")
    ]
    assert problems[0].message.startswith("kind 'marketing' is used by no metric;")


def test_an_attribute_no_metric_uses_is_reported_at_its_line(shipped):
    """Each attribute outside the metrics' (kind, attribute) pairs is reported where defined."""
    usable = {(kind, "*") for kind in shipped.kinds if kind != "marketing"}
    usable |= {("marketing", None), ("marketing", "leads_generated")}
    problems = unusable_references(shipped, usable)
    assert [(p.line, p.key, p.severity) for p in problems] == [
        (
            _line_of("activity_type: Activity_Type__c"),
            "sf_marketing.attributes.activity_type",
            "error",
        )
    ]


def test_every_shipped_reference_is_usable_when_metrics_use_all(shipped):
    """With every kind usable, the shipped mappings raise nothing."""
    assert unusable_references(shipped, {(kind, "*") for kind in shipped.kinds}) == []
