"""A plan's report and the portfolio, read from a store the tests build: trends from the history,
what changed since a date, content not recorded yet, the dashboard's order, size and the CLI."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from plans import history
from plans.pacing import Progress
from plans.periods import Period
from plans.show import plan_view
from plans.store import PlanRow, TargetRow
from report import Context, plan_html, plan_report, portfolio, portfolio_html
from report.formats import fmt
from report.load import plan_content
from report.model import TrendPoint
from tests.plans.factories import (
    activity,
    add_activities,
    add_partners,
    catalogue,
    compute,
    plan,
    store_plans,
    utc,
)
from worker.cli import run as cli

MB = 1024 * 1024


def _won(partner: int, day: date, amount: str) -> dict[str, object]:
    return activity(partner, "opportunity", status="won", amount=amount, occurred_on=day)


def _context(today: date, since: date) -> Context:
    return Context(
        catalogue=catalogue(),
        reporting_currency="USD",
        now=utc(today.year, today.month, today.day),
        since=since,
        stale_after=timedelta(hours=2),
    )


def test_three_computes_on_three_days_give_the_report_a_three_point_trend(engine):
    """Each point carries that day's actual, status and the expected-to-date due by then."""
    with Session(engine) as session:
        ids = add_partners(session, "P-1")
        store_plans(
            session,
            [
                plan(
                    "p",
                    "P-1",
                    "2026-Q2",
                    [{"metric": "won_revenue", "value": 910, "currency": "USD"}],
                )
            ],
        )
        for day, amount in (
            (date(2026, 4, 10), "300"),
            (date(2026, 4, 20), "200"),
            (date(2026, 5, 20), "5"),
        ):
            add_activities(session, [_won(ids["P-1"], day, amount)])
            compute(session, utc(day.year, day.month, day.day))
        report = plan_report(session, "p", _context(date(2026, 5, 21), since=date(2026, 5, 1)))
    (target,) = report.targets
    assert (
        TrendPoint(date(2026, 4, 10), Decimal("300.0000"), Decimal("100.00"), "on_track"),
        TrendPoint(date(2026, 4, 20), Decimal("500.0000"), Decimal("200.00"), "on_track"),
        TrendPoint(date(2026, 5, 20), Decimal("505.0000"), Decimal("500.00"), "on_track"),
    ) == target.trend
    assert (target.trend[1], True) == (target.before, target.changed)
    assert [(date(2026, 4, 1), Decimal(0)), (date(2026, 7, 1), Decimal(910))] == [
        (day, value.quantize(Decimal(1))) for day, value in (target.pace[0], target.pace[-1])
    ]


def test_what_changed_since_lists_only_targets_whose_actual_or_status_moved(sqlite_engine):
    """A target untouched since the date is left out; one that moved shows then and now."""
    with Session(sqlite_engine) as session:
        ids = add_partners(session, "P-1")
        targets = [
            {"metric": "won_revenue", "value": 1000, "currency": "USD"},
            {"metric": "won_deals", "value": 3},
        ]
        store_plans(session, [plan("p", "P-1", "2026-Q2", targets)])
        add_activities(session, [_won(ids["P-1"], date(2026, 4, 2), "900")])
        compute(session, utc(2026, 4, 3))
        add_activities(session, [_won(ids["P-1"], date(2026, 4, 8), "0")])
        compute(session, utc(2026, 4, 9))
        report = plan_report(session, "p", _context(date(2026, 4, 9), since=date(2026, 4, 5)))
        html = plan_html(report)
    assert ["won_deals"] == [t.key for t in report.changes]
    assert "1 of 2 targets changed their actual or status since 2026-04-05" in html


def test_content_the_store_does_not_hold_yet_reads_not_recorded_yet(sqlite_engine):
    """Version, acceptance, joint investment and the partner's response say so honestly."""
    with Session(sqlite_engine) as session:
        add_partners(session, "P-1")
        store_plans(session, [plan("p", "P-1", "2026-Q2", [{"metric": "won_deals", "value": 3}])])
        compute(session, utc(2026, 4, 3))
        html = plan_html(plan_report(session, "p", _context(date(2026, 4, 3), date(2026, 3, 27))))
    assert 2 == html.count('<span class="missing">not recorded yet</span>')  # accepted by, at
    assert "No joint investment in the plan." in html
    assert "No response from the partner yet." in html


def test_recorded_plan_content_is_shown_when_present(sqlite_engine):
    """Version, acceptance and investment lines read back from the plan as the store holds it."""
    with Session(sqlite_engine) as session:
        add_partners(session, "P-1")
        store_plans(session, [plan("p", "P-1", "2026-Q4", [{"metric": "won_deals", "value": 3}])])
        row = session.scalars(select(PlanRow)).one()
        row.version, row.accepted_version = 2, 2
        row.accepted_by, row.accepted_at = "pat@partner.example", utc(2026, 10, 3, 9)
        definition = dict(row.definition)
        definition["sections"] = [
            {
                **definition["sections"][0],
                "investments": [
                    {
                        "title": "MDF webinar",
                        "amount": "5000",
                        "currency": "EUR",
                        "vendor_share": "60",
                    }
                ],
            }
        ]
        row.definition = definition
        session.add(row)
        session.flush()
        content = plan_content(plan_view(session, "p"))
    assert ("2", "pat@partner.example", "2026-10-03") == (
        content.version,
        content.accepted_by,
        content.accepted_at.date().isoformat() if content.accepted_at else None,
    )
    assert content.investments is not None
    assert [("5,000 EUR", "vendor 60 %, partner 40 %")] == [
        (fmt(i.amount, i.currency), i.funded_by) for i in content.investments
    ]


def test_the_portfolio_puts_off_track_targets_first_and_groups_by_tier_and_metric(sqlite_engine):
    """Off track before at risk, lowest attainment first; a row per tier and per metric."""
    with Session(sqlite_engine) as session:
        gold = add_partners(session, "P-G", tier="Gold")
        silver = add_partners(session, "P-S", tier="Silver")
        targets = [{"metric": "won_revenue", "value": 1000, "currency": "USD"}]
        store_plans(
            session,
            [plan("g", "P-G", "2026-Q2", targets), plan("s", "P-S", "2026-Q2", targets)],
        )
        add_activities(
            session,
            [
                _won(gold["P-G"], date(2026, 4, 2), "400"),
                _won(silver["P-S"], date(2026, 4, 2), "80"),
            ],
        )
        compute(session, utc(2026, 5, 15))  # expected to date 500: 400 at risk, 80 off track
        dashboard = portfolio(session, _context(date(2026, 5, 15), date(2026, 5, 8)))
        html = portfolio_html(dashboard)
    assert [("s", "off_track"), ("g", "at_risk")] == [
        (p.key, t.status) for p, t in dashboard.attention
    ]
    assert [("Silver", Decimal("0.08")), ("Gold", Decimal("0.4"))] == [
        (g.name, g.median) for g in dashboard.by_tier
    ]
    assert (True, True) == ('href="g.html"' in html, 'href="s.html"' in html)


def test_a_ten_target_plan_with_a_quarter_of_daily_history_stays_under_1_mb(sqlite_engine):
    """The worst case for size: every target changed every day of the quarter."""
    metrics = ["won_revenue", "won_deals", "pipeline_created", "leads_submitted", "new_logos"]
    targets = [
        {
            "metric": m,
            "key": f"{m}_{i}",
            "value": 1000,
            "currency": "USD" if "revenue" in m or "pipeline" in m else None,
        }
        for m in metrics
        for i in range(2)
    ]
    with Session(sqlite_engine) as session:
        add_partners(session, "P-1")
        store_plans(session, [plan("p", "P-1", "2026-Q2", targets)])
        ids = list(session.scalars(select(TargetRow.id)))
        rows = [
            history.snapshot_row(
                target,
                Period(date(2026, 4, 1), date(2026, 7, 1), "2026-Q2"),
                utc(2026, 4, 1) + timedelta(days=d),
                Progress(
                    Decimal(d * 11 + target), Decimal(1000), None, None, None, None, "on_track", d
                ),
                None,
            )
            for d in range(91)
            for target in ids
        ]
        for day in range(91):  # one compute a day, in day order
            history.write(session, [r for r in rows[day * len(ids) : (day + 1) * len(ids)] if r])
        compute(session, utc(2026, 6, 30))
        report = plan_report(session, "p", _context(date(2026, 6, 30), date(2026, 6, 23)))
        html = plan_html(report)
    assert (10, 91) == (len(report.targets), len(report.targets[0].trend))
    assert len(html.encode()) < MB


def test_report_needs_a_plan_or_all_and_names_an_unknown_plan(tmp_path, sqlite_engine, capsys):
    """No --plan/--all, or a key not in the store: exit 2 with what to do."""
    url = str(sqlite_engine.url)
    out = str(tmp_path / "r.html")
    assert 2 == cli(["report", "-o", out, "--database-url", url, "--config", str(tmp_path)])
    capsys.readouterr()
    code = cli(
        ["report", "--plan", "nope", "-o", out, "--database-url", url, "--config", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert (2, True) == (code, err.startswith("error: no plan 'nope' in the store"))


def test_pdf_without_a_browser_says_how_to_get_one_and_keeps_the_html(
    tmp_path, sqlite_engine, monkeypatch, capsys
):
    """--pdf with no Chromium: exit 2, the HTML is written, the message says how to install one."""
    with Session(sqlite_engine) as session:
        add_partners(session, "P-1")
        store_plans(session, [plan("p", "P-1", "2026-Q2", [{"metric": "won_deals", "value": 3}])])
        session.commit()
    monkeypatch.setenv("PARTNERPLAN_BROWSER", str(tmp_path / "no-such-browser"))
    out = tmp_path / "r.html"
    args = ["report", "--plan", "p", "-o", str(out), "--pdf", "--config", str(tmp_path)]
    code = cli([*args, "--database-url", str(sqlite_engine.url)])
    err = capsys.readouterr().err
    assert (2, True, False) == (code, out.is_file(), (tmp_path / "r.pdf").exists())
    assert "apt-get install chromium" in err


def test_status_and_the_report_format_amounts_alike():
    """The formatter status uses: separators, no trailing zeros, currency after; units added."""
    assert ["397,100 USD", "415,706.9 USD", "n/a", "35%", "5 days", "1 day", "12"] == [
        fmt(Decimal("397100.0000"), "USD"),
        fmt(Decimal("415706.9000"), "USD"),
        fmt(None, "USD"),
        fmt(Decimal("35"), None, "percent"),
        fmt(Decimal("5"), None, "days"),
        fmt(Decimal("1"), None, "days"),
        fmt(Decimal("12.00"), None, "count"),
    ]


def test_a_plan_row_removed_from_config_is_left_out_of_the_portfolio(sqlite_engine):
    """Plans whose status is ``removed`` have no page and no row on the dashboard."""
    with Session(sqlite_engine) as session:
        add_partners(session, "P-1")
        store_plans(session, [plan("p", "P-1", "2026-Q2", [{"metric": "won_deals", "value": 3}])])
        row = session.scalars(select(PlanRow)).one()
        row.status = "removed"
        session.add(row)
        session.flush()
        dashboard = portfolio(session, _context(date(2026, 4, 3), date(2026, 3, 27)))
    assert () == dashboard.plans
