"""A plan's life: declared status, the partner's responses and the calendar decide its status."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from plans.lifecycle import (
    Acceptance,
    Response,
    Standing,
    by_calendar,
    declared_of_crm,
    open_change_requests,
    settle,
)
from plans.periods import parse_period

Q1 = parse_period("2027-Q1")
BEFORE, DURING, AFTER = date(2026, 12, 1), date(2027, 2, 1), date(2027, 4, 2)
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)


def _answer(kind: str, version: int | None, day: int, comment: str = "") -> Response:
    return Response(kind, comment, version, "005PARTNER", "Pat Partner", _at(day), "sf", f"r{day}")


def _settle(prior: Standing | None, declared: str = "shared", **kwargs: object) -> Standing:
    options: dict[str, object] = {
        "terms_changed": False,
        "responses": [],
        "period": Q1,
        "today": BEFORE,
        "now": NOW,
    }
    options.update(kwargs)
    return settle(prior, declared=declared, **options)  # type: ignore[arg-type]


def test_a_draft_stays_a_draft_and_is_never_shared():
    """A draft plan has status draft and no shared time, whatever its edits."""
    assert Standing("draft", 1, None, None, False) == _settle(None, "draft", terms_changed=True)


def test_a_shared_plan_without_an_answer_is_shared_from_now():
    """Declared shared, no response: shared, first shared now, version 1."""
    assert Standing("shared", 1, NOW, None, False) == _settle(None)


def test_a_change_request_to_the_current_version_means_changes_requested():
    """The partner's latest answer to the current version asks for changes."""
    prior = Standing("shared", 1, NOW)
    answers = [_answer("request_changes", 1, 2, "Lower the revenue target")]
    assert "changes_requested" == _settle(prior, responses=answers).status


def test_an_edit_after_a_change_request_makes_a_new_version_shared_again():
    """Terms changed after sharing: version 2, back to shared (the old request was for v1)."""
    prior = Standing("changes_requested", 1, NOW)
    answers = [_answer("request_changes", 1, 2, "Lower it")]
    after = _settle(prior, terms_changed=True, responses=answers)
    assert ("shared", 2, False) == (after.status, after.version, after.locked)


def test_acceptance_of_the_current_version_records_who_and_when():
    """An accept response to the current version: accepted (before the period), by and at."""
    prior = Standing("shared", 2, NOW)
    answers = [_answer("request_changes", 1, 2, "Lower it"), _answer("accept", 2, 3)]
    expected = Standing("accepted", 2, NOW, Acceptance(2, "005PARTNER", "Pat Partner", _at(3)))
    assert expected == _settle(prior, responses=answers)


@pytest.mark.parametrize(
    ("today", "status"), [(BEFORE, "accepted"), (DURING, "active"), (AFTER, "closed")]
)
def test_an_accepted_plan_is_active_during_its_period_and_closed_after(today, status):
    """The calendar moves an accepted plan: accepted → active → closed."""
    assert status == by_calendar(Q1, today)


def test_editing_an_accepted_plan_locks_it_on_the_accepted_version():
    """A new version after acceptance: shared, locked, progress measured on the accepted one."""
    prior = Standing("accepted", 1, NOW, Acceptance(1, "005PARTNER", None, _at(2)))
    after = _settle(prior, terms_changed=True, responses=[_answer("accept", 1, 2)])
    assert ("shared", 2, True, 1) == (
        after.status,
        after.version,
        after.locked,
        after.measured_version,
    )


def test_accepting_the_new_version_unlocks_it():
    """The partner accepts version 2: accepted at 2, no longer locked."""
    prior = Standing("shared", 2, NOW, Acceptance(1, "005PARTNER", None, _at(2)), locked=True)
    answers = [_answer("accept", 1, 2), _answer("accept", 2, 5)]
    after = _settle(prior, responses=answers)
    assert ("accepted", 2, False) == (
        after.status,
        after.accepted and after.accepted.version,
        after.locked,
    )


def test_a_plan_declared_agreed_is_never_locked_and_follows_the_calendar():
    """Declared active (signed offline): an edit makes a new version, still agreed, unlocked."""
    prior = Standing("active", 1, NOW, Acceptance(1))
    after = _settle(prior, "active", terms_changed=True, today=DURING)
    assert ("active", 2, Acceptance(2), False) == (
        after.status,
        after.version,
        after.accepted,
        after.locked,
    )


@pytest.mark.parametrize(
    ("crm", "declared"),
    [
        ("draft", "draft"),
        ("shared", "shared"),
        ("changes_requested", "shared"),
        ("accepted", "accepted"),
        ("active", "accepted"),
        ("closed", "closed"),
        (None, "draft"),
    ],
)
def test_a_crm_status_read_back_is_no_instruction(crm, declared):
    """What partnerplan wrote (changes requested, active) declares only a published/agreed plan."""
    assert declared == declared_of_crm(crm)


def test_open_change_requests_are_those_since_the_last_acceptance_of_the_version():
    """An acceptance closes earlier requests; other versions' requests are not open."""
    answers = [
        _answer("request_changes", 1, 2, "old"),
        _answer("request_changes", 2, 3, "first"),
        _answer("accept", 2, 4),
        _answer("request_changes", 2, 5, "again"),
    ]
    assert ["again"] == [r.comment for r in open_change_requests(answers, 2)]
