"""Every standard metric on one hand-built activity set, each expected value worked out by hand.

Partner A's activities for 2026-Q2 = [2026-04-01, 2026-07-01) are listed below with the
reasoning for each expected value beside it. Partner B has one won deal that must never leak into
A's numbers; deleted activities and activities dated 2026-07-01 (the next period) never count.
All amounts are USD here (currency conversion is tested in test_engine_money.py).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import Session

from plans.db import create_all, make_engine
from tests.conftest import PG_ADMIN_URL, require_service
from tests.plans.factories import (
    activity,
    add_activities,
    add_partners,
    catalogue,
    compute,
    plan,
    progress_by_key,
    store_plans,
    utc,
)

D = date


def _activities(a: int, b: int) -> list[dict[str, object]]:
    opp, reg, lead, course, cert, mkt = (
        "opportunity",
        "deal_registration",
        "lead",
        "training",
        "certification",
        "marketing",
    )
    return [
        # ---- opportunities: occurred_on = close date
        activity(
            a,
            opp,
            record_id="O1",
            status="won",
            amount=1000,
            occurred_on=D(2026, 4, 10),
            created_at=utc(2026, 3, 1),
            closed_at=utc(2026, 4, 10),
            attributes={
                "deal_type": "new_business",
                "lead_source": "Partner Referral",
                "deal_registration_id": "DR1",
            },
        ),
        activity(
            a,
            opp,
            record_id="O2",
            status="won",
            amount=3000,
            occurred_on=D(2026, 5, 20),
            created_at=utc(2026, 4, 20),
            closed_at=utc(2026, 5, 20),
            attributes={"deal_type": "existing_business", "lead_source": "Web"},
        ),
        activity(
            a,
            opp,
            record_id="O3",
            status="won",
            amount=500,
            occurred_on=D(2026, 6, 30),
            created_at=utc(2026, 6, 1),
            closed_at=utc(2026, 6, 30),
            attributes={"deal_type": "new_business", "lead_source": "Partner Event"},
        ),
        activity(
            a,
            opp,
            record_id="O4",
            status="lost",
            amount=2000,
            occurred_on=D(2026, 5, 5),
            created_at=utc(2026, 4, 5),
            closed_at=utc(2026, 5, 5),
            attributes={"deal_type": "new_business", "lead_source": "Web"},
        ),
        activity(
            a,
            opp,
            record_id="O5",
            status="open",
            amount=4000,
            occurred_on=D(2026, 6, 15),
            created_at=utc(2026, 5, 10),
            attributes={"deal_type": "new_business", "lead_source": "Partner Referral"},
        ),
        activity(
            a,
            opp,
            record_id="O6",
            status="open",
            amount=1500,
            occurred_on=D(2026, 7, 1),
            created_at=utc(2026, 6, 20),
            attributes={"deal_type": "existing_business"},
        ),
        activity(
            a,
            opp,
            record_id="O7",
            status="won",
            amount=9999,
            occurred_on=D(2026, 5, 1),
            created_at=utc(2026, 4, 2),
            closed_at=utc(2026, 5, 1),
            deleted=True,
            attributes={"deal_type": "new_business"},
        ),
        activity(
            a,
            opp,
            record_id="O8",
            status="open",
            amount=700,
            occurred_on=D(2026, 3, 15),
            created_at=utc(2026, 2, 1),
        ),
        activity(
            a,
            opp,
            record_id="O9",
            status="won",
            amount=800,
            occurred_on=D(2026, 3, 31),
            created_at=utc(2026, 1, 10),
            closed_at=utc(2026, 3, 31),
        ),
        activity(
            b,
            opp,
            record_id="B1",
            status="won",
            amount=777,
            occurred_on=D(2026, 5, 1),
            created_at=utc(2026, 4, 1),
            closed_at=utc(2026, 5, 1),
        ),
        # ---- deal registrations: occurred_on = submitted date
        activity(
            a,
            reg,
            record_id="D1",
            status="approved",
            amount=10000,
            occurred_on=D(2026, 4, 2),
            attributes={
                "submitted_on": D(2026, 4, 2),
                "approved_on": D(2026, 4, 12),
                "expires_on": D(2026, 10, 12),
            },
        ),
        activity(
            a,
            reg,
            record_id="D2",
            status="converted",
            amount=5000,
            occurred_on=D(2026, 5, 1),
            attributes={
                "submitted_on": D(2026, 5, 1),
                "approved_on": D(2026, 5, 4),
                "expires_on": D(2026, 11, 4),
            },
        ),
        activity(
            a,
            reg,
            record_id="D3",
            status="rejected",
            amount=2000,
            occurred_on=D(2026, 5, 15),
            attributes={"submitted_on": D(2026, 5, 15)},
        ),
        activity(
            a,
            reg,
            record_id="D4",
            status="expired",
            amount=1000,
            occurred_on=D(2026, 1, 10),
            attributes={
                "submitted_on": D(2026, 1, 10),
                "approved_on": D(2026, 1, 20),
                "expires_on": D(2026, 4, 20),
            },
        ),
        activity(
            a,
            reg,
            record_id="D5",
            status="submitted",
            amount=3000,
            occurred_on=D(2026, 6, 25),
            attributes={"submitted_on": D(2026, 6, 25)},
        ),
        activity(
            a,
            reg,
            record_id="D6",
            status="submitted",
            amount=700,
            occurred_on=D(2026, 3, 1),
            attributes={"submitted_on": D(2026, 3, 1)},
        ),
        activity(
            a,
            reg,
            record_id="D7",
            status="approved",
            amount=4000,
            occurred_on=D(2026, 3, 25),
            attributes={"submitted_on": D(2026, 3, 25), "approved_on": D(2026, 4, 1)},
        ),
        # ---- leads: occurred_on = created date
        activity(
            a,
            lead,
            record_id="L1",
            status="converted",
            occurred_on=D(2026, 4, 1),
            created_at=utc(2026, 4, 1, 9),
            attributes={
                "lead_source": "Partner Referral",
                "accepted_on": D(2026, 4, 3),
                "converted_on": D(2026, 4, 21),
            },
        ),
        activity(
            a,
            lead,
            record_id="L2",
            status="accepted",
            occurred_on=D(2026, 4, 15),
            created_at=utc(2026, 4, 15),
            attributes={"lead_source": "Web", "accepted_on": D(2026, 4, 20)},
        ),
        activity(
            a,
            lead,
            record_id="L3",
            status="rejected",
            occurred_on=D(2026, 5, 2),
            created_at=utc(2026, 5, 2),
            attributes={"lead_source": "Partner Referral"},
        ),
        activity(
            a,
            lead,
            record_id="L4",
            status="new",
            occurred_on=D(2026, 6, 30),
            created_at=utc(2026, 6, 30, 23),
            attributes={"lead_source": "Partner Event"},
        ),
        activity(
            a,
            lead,
            record_id="L5",
            status="new",
            occurred_on=D(2026, 3, 20),
            created_at=utc(2026, 3, 20),
            attributes={"lead_source": "Web"},
        ),
        activity(
            a,
            lead,
            record_id="L6",
            status="accepted",
            occurred_on=D(2026, 3, 28),
            created_at=utc(2026, 3, 28),
            attributes={"lead_source": "Partner Referral", "accepted_on": D(2026, 4, 2)},
        ),
        # ---- training: created_at = enrolment
        activity(
            a,
            course,
            record_id="T1",
            status="completed",
            created_at=utc(2026, 3, 10),
            attributes={"contact": "a@x", "completed_on": D(2026, 4, 5)},
        ),
        activity(
            a,
            course,
            record_id="T2",
            status="completed",
            created_at=utc(2026, 4, 10),
            attributes={"contact": "a@x", "completed_on": D(2026, 5, 10)},
        ),
        activity(
            a,
            course,
            record_id="T3",
            status="completed",
            created_at=utc(2026, 4, 12),
            attributes={"contact": "b@x", "completed_on": D(2026, 4, 22)},
        ),
        activity(
            a,
            course,
            record_id="T4",
            status="enrolled",
            created_at=utc(2026, 5, 1),
            attributes={"contact": "c@x"},
        ),
        activity(
            a,
            course,
            record_id="T5",
            status="completed",
            created_at=utc(2026, 6, 1),
            attributes={"contact": "d@x", "completed_on": D(2026, 7, 3)},
        ),
        # ---- certifications: occurred_on = earned date
        activity(
            a,
            cert,
            record_id="C1",
            status="certified",
            occurred_on=D(2025, 6, 1),
            attributes={
                "contact": "a@x",
                "certification": "Platform Pro",
                "expires_on": D(2027, 6, 1),
            },
        ),
        activity(
            a,
            cert,
            record_id="C2",
            status="certified",
            occurred_on=D(2026, 4, 15),
            attributes={
                "contact": "b@x",
                "certification": "Platform Pro",
                "expires_on": D(2026, 6, 30),
            },
        ),
        activity(
            a,
            cert,
            record_id="C3",
            status="certified",
            occurred_on=D(2026, 5, 20),
            attributes={
                "contact": "a@x",
                "certification": "Security Pro",
                "expires_on": D(2028, 5, 20),
            },
        ),
        activity(
            a,
            cert,
            record_id="C4",
            status="expired",
            occurred_on=D(2024, 5, 1),
            attributes={
                "contact": "e@x",
                "certification": "Analytics",
                "expires_on": D(2026, 5, 1),
            },
        ),
        activity(
            a,
            cert,
            record_id="C5",
            status="certified",
            occurred_on=D(2026, 7, 1),
            attributes={"contact": "f@x", "certification": "Analytics"},
        ),
        # ---- marketing: occurred_on = activity date, amount = spend
        activity(
            a,
            mkt,
            record_id="M1",
            status="completed",
            amount=1200,
            occurred_on=D(2026, 4, 10),
            attributes={"activity_type": "Webinar", "leads_generated": 30},
        ),
        activity(
            a,
            mkt,
            record_id="M2",
            status="completed",
            amount=5000,
            occurred_on=D(2026, 5, 15),
            attributes={"activity_type": "Event", "leads_generated": 45},
        ),
        activity(
            a,
            mkt,
            record_id="M3",
            status="planned",
            amount=800,
            occurred_on=D(2026, 6, 20),
            attributes={"activity_type": "Webinar"},
        ),
        activity(
            a,
            mkt,
            record_id="M4",
            status="cancelled",
            amount=0,
            occurred_on=D(2026, 5, 1),
            attributes={"activity_type": "Event"},
        ),
        activity(
            a,
            mkt,
            record_id="M5",
            status="completed",
            amount=300,
            occurred_on=D(2026, 6, 30),
            attributes={"activity_type": "Content", "leads_generated": 0},
        ),
        activity(
            a,
            mkt,
            record_id="M6",
            status="completed",
            amount=999,
            occurred_on=D(2026, 7, 1),
            attributes={"activity_type": "Webinar", "leads_generated": 99},
        ),
        # ---- funds: occurred_on = the budget's / request's start, a claim's date
        *[
            activity(
                partner,
                "fund",
                record_id=record,
                status=status,
                amount=amount,
                occurred_on=day,
                attributes={"fund_type": fund_type},
            )
            for partner, record, fund_type, status, amount, day in (
                (a, "F1", "allocation", "allocated", 2000, D(2026, 4, 5)),
                (a, "F2", "allocation", "allocated", 1000, D(2026, 5, 1)),
                (a, "F3", "request", "submitted", 1500, D(2026, 4, 10)),
                (a, "F4", "request", "approved", 800, D(2026, 4, 20)),
                (a, "F5", "request", "draft", 300, D(2026, 4, 25)),
                (a, "F6", "approval", "approved", 700, D(2026, 4, 20)),
                (a, "F7", "claim", "approved", 600, D(2026, 5, 15)),
                (a, "F8", "claim", "submitted", 400, D(2026, 6, 1)),
                (a, "F9", "claim", "rejected", 200, D(2026, 6, 2)),
                (a, "F10", "allocation", "allocated", 9000, D(2026, 7, 1)),
                (b, "FB", "allocation", "allocated", 5000, D(2026, 4, 5)),
            )
        ],
    ]


# metric: (expected actual, activities that make it up) — worked by hand from the list above.
EXPECTED: dict[str, tuple[str | None, int]] = {
    # sales: won in Q2 = O1 1000, O2 3000, O3 500 (O7 deleted, O9 closed 03-31, B1 partner B)
    "won_revenue": ("4500", 3),
    "won_deals": ("3", 3),
    "average_deal_size": ("1500", 3),  # 4500 / 3
    "median_deal_size": ("1000", 3),  # median(500, 1000, 3000)
    "largest_deal": ("3000", 3),
    "smallest_deal": ("500", 3),
    "lost_deals": ("1", 1),  # O4
    "lost_revenue": ("2000", 1),
    "closed_deals": ("4", 4),  # O1-O4
    "closed_revenue": ("6500", 4),  # 4500 + 2000
    "win_rate": ("75", 4),  # 3 / 4
    "win_rate_by_value": ("69.23", 4),  # 4500 / 6500 = 69.2307...
    "sales_cycle_days": ("33", 3),  # O1 40 days (03-01→04-10), O2 30, O3 29: 99 / 3
    "new_logos": ("2", 2),  # O1, O3 new_business
    "new_logo_revenue": ("1500", 2),
    "existing_customer_revenue": ("3000", 1),  # O2
    "partner_sourced_revenue": ("1500", 2),  # O1 referral + O3 event
    "registered_deal_revenue": ("1000", 1),  # O1 has a deal registration
    # pipeline: created in Q2 = O2 3000, O3 500, O4 2000, O5 4000, O6 1500
    "pipeline_created": ("11000", 5),
    "opportunities_created": ("5", 5),
    "open_pipeline": ("4000", 1),  # O5 (O6 closes 07-01: next quarter; O8 in March)
    "open_opportunities": ("1", 1),
    "pipeline_coverage": ("0.89", 3),  # 4000 / 4500 = 0.888...; counted: the 3 won deals
    "average_opportunity_size": ("2200", 5),  # 11000 / 5
    "partner_sourced_pipeline": ("4500", 2),  # O3 500 + O5 4000
    "new_logo_pipeline": ("6500", 3),  # O3 500 + O4 2000 + O5 4000
    "stalled_opportunities": ("2", 2),  # open with close date before 07-01: O5, O8
    # deal registrations submitted in Q2: D1, D2, D3, D5
    "registrations_submitted": ("4", 4),
    "registrations_approved": ("3", 3),  # approved_on in Q2: D1, D2, D7 (04-01 boundary)
    "registrations_rejected": ("1", 1),  # D3
    "registrations_expired": ("1", 1),  # D4 expired 04-20
    "registrations_converted": ("1", 1),  # D2
    "registrations_approved_of_submitted": ("2", 2),  # D1, D2
    "registration_approval_rate": ("50", 4),  # 2 / 4
    "registration_rejection_rate": ("25", 4),  # 1 / 4
    "registration_conversion_rate": ("25", 4),  # 1 / 4
    "time_to_approval_days": ("6.7", 3),  # D1 10, D2 3, D7 7 days: 20 / 3 = 6.67
    "registered_pipeline": ("20000", 4),  # 10000 + 5000 + 2000 + 3000
    "approved_registered_pipeline": ("19000", 3),  # D1 10000 + D2 5000 + D7 4000
    "average_registration_size": ("5000", 4),  # 20000 / 4
    "registrations_pending": ("2", 2),  # still submitted, submitted before 07-01: D5, D6
    # leads created in Q2: L1 (04-01, boundary), L2, L3, L4 (06-30 23:00 UTC)
    "leads_submitted": ("4", 4),
    "leads_accepted": ("3", 3),  # accepted_on in Q2: L1, L2, L6
    "leads_rejected": ("1", 1),  # L3
    "leads_converted": ("1", 1),  # L1
    "leads_accepted_of_submitted": ("2", 2),  # L1, L2
    "leads_converted_of_submitted": ("1", 1),  # L1
    "lead_acceptance_rate": ("50", 4),  # 2 / 4
    "lead_conversion_rate": ("25", 4),  # 1 / 4
    "time_to_accept_days": ("4", 3),  # L1 2, L2 5, L6 5 (03-28→04-02): 12 / 3
    "time_to_convert_days": ("20", 1),  # L1 04-01→04-21
    "referral_leads": ("2", 2),  # L1, L3
    "leads_open": ("2", 2),  # still new, created before 07-01: L4, L5
    # training: enrolled in Q2 = T2, T3, T4, T5; completed in Q2 = T1, T2, T3
    "course_enrollments": ("4", 4),
    "course_completions": ("3", 3),
    "trained_individuals": ("2", 3),  # a@x (twice), b@x
    "completions_of_enrollments": ("3", 3),  # T2, T3, T5 (completed later, enrolled in Q2)
    "course_completion_rate": ("75", 4),  # 3 / 4
    "time_to_complete_days": ("22", 3),  # T1 26, T2 30, T3 10: 66 / 3
    # certifications
    "certifications_earned": ("2", 2),  # C2, C3 (C5 earned 07-01)
    "certified_individuals": ("2", 3),  # current, earned before 07-01: C1 a, C2 b, C3 a
    "certifications_held": ("2", 3),  # Platform Pro, Security Pro
    "certifications_expiring": ("1", 1),  # C2 expires 06-30
    "certifications_expired": ("1", 1),  # C4 expired 05-01
    # marketing in Q2: M1 webinar 1200/30 leads, M2 event 5000/45, M3 planned, M4 cancelled,
    # M5 content 300/0 (M6 on 07-01 is next quarter)
    "marketing_activities": ("3", 3),
    "marketing_activities_planned": ("1", 1),
    "marketing_activities_cancelled": ("1", 1),
    "marketing_spend": ("6500", 3),  # 1200 + 5000 + 300
    "webinars_held": ("1", 1),
    "events_held": ("1", 1),
    "marketing_leads_generated": ("75", 3),  # 30 + 45 + 0
    "leads_per_activity": ("25", 3),  # 75 / 3
    "cost_per_lead": ("86.67", 3),  # 6500 / 75 = 86.666...
    # funds: F10 dated 07-01 (next quarter) and FB (partner B) never count
    "funds_allocated": ("3000", 2),  # F1 2000 + F2 1000
    "funds_requested": ("2300", 2),  # F3 1500 + F4 800 (the draft F5 is not requested yet)
    "funds_approved": ("700", 1),  # F6, F4 at its approved amount
    "funds_claimed": ("1000", 2),  # F7 600 + F8 400 (F9 rejected)
    "funds_reimbursed": ("600", 1),  # F7, approved
    "fund_utilization": ("33.33", 2),  # 1000 / 3000 = 33.33 %
    "fund_approval_rate": ("30.43", 2),  # 700 / 2300 = 30.43 %
    "pipeline_per_fund_dollar": ("18.33", 1),  # 11000 / 600
    "revenue_per_fund_dollar": ("7.5", 1),  # 4500 / 600
}


def _pg_engine():
    require_service("PostgreSQL", "127.0.0.1", 5432)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return make_engine(PG_ADMIN_URL, schema=schema), admin, schema


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def actuals(request, tmp_path_factory):
    """Each standard metric computed for partner A over 2026-Q2, on each database."""
    admin = schema = None
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('m') / 'store.db'}")
    else:
        engine, admin, schema = _pg_engine()
    create_all(engine)
    cat = catalogue()
    targets = [
        {"metric": key, "value": 1, "currency": "USD" if cat[key].is_money else None} for key in cat
    ]
    with Session(engine) as session:
        ids = add_partners(session, "P-A", "P-B")
        add_activities(session, _activities(ids["P-A"], ids["P-B"]))
        store_plans(session, [plan("A-2026-Q2", "P-A", "2026-Q2", targets)])
        compute(session, utc(2026, 8, 1))
        session.commit()
        found = {k: (row.actual, row.activity_count) for k, row in progress_by_key(session).items()}
    engine.dispose()
    if admin is not None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return found


def test_every_standard_metric_has_a_hand_worked_case():
    """The table below covers the whole shipped catalogue (a new metric needs its own case)."""
    assert set(catalogue().standard) == set(EXPECTED)
    assert len(EXPECTED) >= 50


@pytest.mark.parametrize("metric", sorted(EXPECTED))
def test_standard_metric_value(actuals, metric):
    """Each standard metric's actual and activity count match the value worked out by hand."""
    value, count = EXPECTED[metric]
    expected = (Decimal(value) if value is not None else None, count)
    assert expected == actuals[metric]
