"""The shipped report types, reports and dashboard name what exists, in the forms a deploy takes.

A report on a custom report type names it ``<type>__c`` and its columns ``<base object>$<field>``;
each such column must be a column of the report type; a report cannot list its grouping among
its columns; a dashboard names reports ``<folder>/<report>`` and charts columns of that report.
"""

from __future__ import annotations

import pytest

from tests.crm.sfdx import each, get, texts

STANDARD_COLUMNS = {"Owner": "OwnerId"}
"""Report-type column names of standard fields that differ from the field's API name."""


@pytest.fixture(scope="module")
def report_types(package):
    """Each report type's ``name__c`` to its base object and its column names."""
    out = {}
    for path, root in package.of("reportType"):
        base = get(root, "baseObject")
        tables = set(texts(root, "sections/columns/table"))
        assert {base} == tables, path.name
        out[path.name.split(".")[0] + "__c"] = (base, texts(root, "sections/columns/field"))
    return out


@pytest.fixture(scope="module")
def reports(package):
    """Each report as ``folder/name``: its report type, columns, groupings and filter columns."""
    return {
        f"{path.parent.name}/{path.name.split('.')[0]}": (
            get(root, "reportType"),
            texts(root, "columns/field"),
            texts(root, "groupingsDown/field"),
            texts(root, "filter/criteriaItems/column"),
        )
        for path, root in package.of("report")
    }


def test_report_type_columns_are_fields_of_their_base_object(package, report_types):
    """Every column a report type offers is a field of its base object."""
    missing = [
        (name, column)
        for name, (base, columns) in report_types.items()
        for column in columns
        if package.field(base, STANDARD_COLUMNS.get(column, column)) is None
    ]
    assert [] == missing
    assert {"Partner_Plan_Targets__c", "Partner_Plans__c"} == set(report_types)


def test_the_promised_reports_exist_in_a_shipped_folder(package, reports):
    """Attainment by partner, at-risk targets and plans awaiting acceptance; their folder ships."""
    assert {
        "Partner_Plans/Attainment_By_Partner",
        "Partner_Plans/At_Risk_Targets",
        "Partner_Plans/Plans_Awaiting_Acceptance",
    } == set(reports)
    folders = {path.name.split(".")[0] for path, _ in package.of("reportFolder")}
    assert {name.split("/")[0] for name in reports} <= folders


def test_report_columns_are_columns_of_their_report_type(report_types, reports):
    """Each column, grouping and filter is ``<base>$<column>`` of the report's report type."""
    problems = []
    for name, (report_type, columns, groupings, filters) in reports.items():
        base, offered = report_types[report_type]
        for column in columns + groupings + filters:
            table, _, field = column.partition("$")
            if table != base or field not in offered:
                problems.append((name, column))
        problems += [(name, "grouping listed as a column", g) for g in groupings if g in columns]
    assert [] == problems


def test_report_filters_use_the_formula_flags_not_picklist_labels(package, reports):
    """At-risk and awaiting-acceptance filter on checkbox formulas holding the picklist logic."""
    flags = {name: filters for name, (_, _, _, filters) in reports.items() if filters}
    assert {
        "Partner_Plans/At_Risk_Targets": ["Partner_Plan_Progress__c$At_Risk__c"],
        "Partner_Plans/Plans_Awaiting_Acceptance": [
            "Partner_Business_Plan__c$Awaiting_Acceptance__c"
        ],
    } == flags
    for (column,) in flags.values():
        assert "Checkbox" == package.field(*column.split("$")).type


def _summaries(root):
    """A report's summarized columns: each column to its aggregate (Sum, Average, ...)."""
    return {
        get(column, "field"): get(column, "aggregateTypes")
        for column in each(root, "columns")
        if get(column, "aggregateTypes")
    }


def test_the_dashboard_charts_what_its_reports_summarize(package, reports):
    """Each component charts RowCount or a summary its report computes, by one of its groupings."""
    ((path, root),) = package.of("dashboard")
    folders = {p.name.split(".")[0] for p, _ in package.of("dashboardFolder")}
    assert path.parent.name in folders
    summaries = {
        f"{p.parent.name}/{p.name.split('.')[0]}": _summaries(r) for p, r in package.of("report")
    }
    used, problems = set(), []
    for component in each(root, "dashboardComponent"):
        report = get(component, "report")
        used.add(report)
        for summary in each(component, "chartSummary"):
            column, aggregate = get(summary, "column"), get(summary, "aggregate")
            if column != "RowCount" and summaries[report].get(column) != aggregate:
                problems.append((report, column, aggregate))
        groupings = reports[report][2]
        problems += [(report, g) for g in texts(component, "groupingColumn") if g not in groupings]
    assert [] == problems
    assert set(reports) == used
    assert "LoggedInUser" == get(root, "dashboardType")
