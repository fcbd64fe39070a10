"""The metric catalogue: shipped as data, extended and overridden by config/metrics.yaml."""

from __future__ import annotations

from plans.catalogue import Aggregate, load_catalogue

CUSTOM = """\
version: 1
metrics:
  - key: platform_revenue
    label: Platform revenue
    category: sales
    description: Won revenue on the Platform line.
    kinds: [opportunity]
    aggregate: sum
    field: amount
    status: [won]
    filters: {product_line: Platform}
    unit: money
  - key: won_deals
    label: Won deals (renewals excluded)
    category: sales
    description: Won deals that are not renewals.
    kinds: [opportunity]
    aggregate: count
    status: [won]
    filters: {deal_type: {not: renewal}}
    unit: count
"""


def test_the_standard_catalogue_covers_every_aggregate_and_has_50_metrics():
    """At least 50 metrics, using every aggregate the engine supports."""
    catalogue, problems = load_catalogue(None)
    assert problems == []
    assert catalogue is not None
    assert len(catalogue) >= 50
    assert {m.aggregate for m in catalogue.metrics.values()} == set(Aggregate)


def test_a_custom_metric_is_added_and_a_standard_one_overridden(tmp_path):
    """config/metrics.yaml adds platform_revenue and replaces won_deals (new version hash)."""
    standard, _ = load_catalogue(None)
    (tmp_path / "metrics.yaml").write_text(CUSTOM)
    catalogue, problems = load_catalogue(tmp_path)
    assert problems == []
    assert catalogue is not None and standard is not None
    assert "platform_revenue" in catalogue
    assert catalogue["won_deals"].label == "Won deals (renewals excluded)"
    assert catalogue.version("won_deals") != standard.version("won_deals")
    assert catalogue.version("win_rate") != standard.version("win_rate")  # uses won_deals


def _problems(tmp_path, text: str) -> list[str]:
    path = tmp_path / "metrics.yaml"
    path.write_text(text)
    catalogue, problems = load_catalogue(tmp_path)
    assert catalogue is None
    return [p.render().removeprefix(str(path)) for p in problems]


def test_an_unknown_aggregate_is_reported_at_its_line(tmp_path):
    """A misspelt aggregate is located at FILE:LINE with the valid choices."""
    text = (
        "version: 1\nmetrics:\n"
        "  - {key: a, label: A, category: x, description: d, kinds: [lead], aggregate: total,"
        " unit: count}\n"
    )
    assert _problems(tmp_path, text) == [
        ":3: metrics[0].aggregate: Input should be 'count', 'sum', 'avg', 'min', 'max', "
        "'count_distinct', 'median', 'ratio' or 'duration'"
    ]


def test_a_ratio_of_an_unknown_metric_is_reported_at_its_line(tmp_path):
    """A ratio's denominator must name a metric of the catalogue."""
    text = (
        "version: 1\nmetrics:\n"
        "  - key: b\n    label: B\n    category: x\n    description: d\n"
        "    aggregate: ratio\n    numerator: won_deals\n    denominator: nope\n"
        "    unit: percent\n"
    )
    assert _problems(tmp_path, text) == [
        ":9: metrics[0].denominator: unknown metric 'nope'; declare it"
    ]


def test_the_version_is_stable_across_loads():
    """The same definition hashes the same (progress is not recomputed for nothing)."""
    first, _ = load_catalogue(None)
    second, _ = load_catalogue(None)
    assert first is not None and second is not None
    assert [first.version(k) for k in first] == [second.version(k) for k in second]
