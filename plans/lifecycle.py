"""A plan's life: draft → shared → accepted (or changes requested → shared again) → active → closed.

The status is derived, never stored as an instruction: from what the plan's origin *declares*
(the config file's ``status:``, or the status a channel manager set on a CRM-authored plan), the
partner's *responses* (pulled from the CRM like any other stream) and the *calendar*:

* ``draft``: declared draft. Internal: its records carry no partner sharing, nothing is computed.
* ``shared``: declared shared, and no response to the current version yet.
* ``changes_requested``: the partner's latest response to the current version asks for changes.
* ``accepted``: the partner accepted the current version (or the origin declares the plan agreed:
  ``accepted``, ``active`` or ``closed`` — signed outside the CRM), before its period starts;
  ``active`` during its period; ``closed`` once it has ended (or when declared closed).

**Versions.** The *terms* of a plan are its period and its targets (:meth:`Plan.terms
<plans.planfile.Plan.terms>`); wording, action items, investment lines, target accounts and
attachments are working content and change freely. Once the partner has seen a version (the
plan was shared), a change of the terms makes a new version, which needs the partner's answer:
a response counts for the version it names. While a version the partner *accepted* is followed
by one that awaits acceptance, the plan is **locked**: progress is measured against the accepted
version's targets and the CRM keeps showing them (with the proposed values beside them), until
the partner accepts the new version. A plan the origin declares agreed is never locked: the
declaration covers its current terms; nor is a plan authored in the CRM, whose targets are the
very records progress is written to (:func:`plans.planstore.sync_plans` sees to that).

**Computed statuses** (:data:`COMPUTED`): shared, changes_requested, accepted, active and closed.
A draft is not computed: it is not the partner's yet, and progress records are shared with the
partner by Account. Accepted and active plans always are; shared ones too, so the partner reads
where they stand against the targets they are asked to accept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from plans.periods import Period

DRAFT, SHARED, CHANGES_REQUESTED = "draft", "shared", "changes_requested"
ACCEPTED, ACTIVE, CLOSED = "accepted", "active", "closed"
STATUSES = (DRAFT, SHARED, CHANGES_REQUESTED, ACCEPTED, ACTIVE, CLOSED)
"""Every status a plan can have, in the order of its life."""
COMPUTED = (SHARED, CHANGES_REQUESTED, ACCEPTED, ACTIVE, CLOSED)
"""Statuses whose progress is computed and pushed (see the module docstring)."""
AGREED = (ACCEPTED, ACTIVE, CLOSED)
"""Declared statuses that say the plan was agreed outside the CRM."""
ACCEPT, REQUEST_CHANGES = "accept", "request_changes"
RESPONSES = (ACCEPT, REQUEST_CHANGES)


@dataclass(frozen=True)
class Response:
    """One answer of the partner to one version of a plan, as pulled from the CRM.

    Attributes:
        response: ``accept`` or ``request_changes``.
        comment: What the partner wrote (required with a change request).
        version: The plan version answered; None when the CRM did not say (the current one).
        by: The responder's CRM user id (Salesforce) or email (HubSpot).
        by_name: The responder's name, when the CRM gives it.
        at: When the partner responded (aware UTC).
        source: The source it was pulled from.
        record_id: Its record id there.
    """

    response: str
    comment: str
    version: int | None
    by: str | None
    by_name: str | None
    at: datetime
    source: str = ""
    record_id: str = ""


@dataclass(frozen=True)
class Acceptance:
    """Which version was accepted, by whom and when (None for a declared agreement)."""

    version: int
    by: str | None = None
    by_name: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Standing:
    """Where a plan stands in its life.

    Attributes:
        status: The derived status.
        version: The current version (1 for a new plan).
        shared_at: When the partner first could see the plan (None while it never left draft).
        accepted: The latest accepted version, if any.
        locked: A newer version awaits acceptance; progress follows ``accepted``'s terms.
    """

    status: str
    version: int = 1
    shared_at: datetime | None = None
    accepted: Acceptance | None = None
    locked: bool = False

    @property
    def measured_version(self) -> int:
        """The version whose terms progress is measured against."""
        if self.locked and self.accepted is not None:
            return self.accepted.version
        return self.version


def declared_of_crm(status: str | None) -> str:
    """What a CRM plan record's status declares, read back after partnerplan wrote its own.

    partnerplan writes the derived status onto the record, so the status read back must not
    become an instruction: ``shared`` and ``changes_requested`` both declare a published plan
    (responses decide between them), ``accepted`` and ``active`` a plan agreed.
    """
    text = (status or DRAFT).strip().lower()
    if text in (SHARED, CHANGES_REQUESTED, "proposed"):
        return SHARED
    if text in (ACCEPTED, ACTIVE):
        return ACCEPTED
    return text if text in STATUSES else DRAFT


def by_calendar(period: Period, today: date, declared: str = ACCEPTED) -> str:
    """An agreed plan's status on ``today``: accepted before its period, active in it, closed
    after it (or when its origin declares it closed)."""
    if declared == CLOSED or period.end <= today:
        return CLOSED
    return ACTIVE if period.start <= today else ACCEPTED


def _latest(responses: Iterable[Response]) -> Response | None:
    return max(responses, key=lambda r: (r.at, r.record_id), default=None)


def settle(
    prior: Standing | None,
    *,
    declared: str,
    terms_changed: bool,
    responses: Iterable[Response],
    period: Period,
    today: date,
    now: datetime,
) -> Standing:
    """The plan's standing after a sync.

    Args:
        prior: The standing stored before (None for a new plan).
        declared: What the origin declares (``draft``, ``shared``, ``accepted``, ``active``,
            ``closed``).
        terms_changed: The terms differ from those of ``prior``'s current version.
        responses: Every response pulled for the plan, any version.
        period: The plan's period (of the measured version).
        today: The day the calendar is read on.
        now: When the plan is first shared, if it is now.
    """
    state = prior or Standing(DRAFT)
    version = state.version + 1 if terms_changed and state.shared_at is not None else state.version
    answers = [r for r in responses if r.response in RESPONSES]
    if declared == DRAFT:
        return replace(state, status=DRAFT, version=version, locked=False)
    shared_at = state.shared_at or now
    current = [r for r in answers if r.version in (None, version)]
    latest = _latest(current)
    accepted = _best_acceptance(state.accepted, answers, version)
    if declared in AGREED:
        if latest is not None and latest.response == ACCEPT:
            accepted = Acceptance(version, latest.by, latest.by_name, latest.at)
        elif accepted is None or accepted.version != version:
            accepted = Acceptance(version)
        status = by_calendar(period, today, declared)
        return Standing(status, version, shared_at, accepted, locked=False)
    if latest is not None and latest.response == ACCEPT:
        accepted = Acceptance(version, latest.by, latest.by_name, latest.at)
        return Standing(by_calendar(period, today), version, shared_at, accepted, locked=False)
    status = CHANGES_REQUESTED if latest is not None else SHARED
    locked = accepted is not None and accepted.version < version
    return Standing(status, version, shared_at, accepted, locked=locked)


def _best_acceptance(
    stored: Acceptance | None, answers: list[Response], version: int
) -> Acceptance | None:
    """The acceptance of the highest version up to ``version``: a response or the stored one."""
    best = stored if stored is not None and stored.version <= version else None
    for answer in answers:
        if answer.response != ACCEPT or answer.version is None or answer.version > version:
            continue
        if best is None or (answer.version, answer.at) > (best.version, best.at or answer.at):
            best = Acceptance(answer.version, answer.by, answer.by_name, answer.at)
    return best


def open_change_requests(responses: Iterable[Response], version: int) -> list[Response]:
    """Change requests to ``version`` made after its last acceptance, oldest first."""
    current = sorted(
        (r for r in responses if r.version in (None, version)), key=lambda r: (r.at, r.record_id)
    )
    out: list[Response] = []
    for response in current:
        if response.response == ACCEPT:
            out = []
        elif response.response == REQUEST_CHANGES:
            out.append(response)
    return out
