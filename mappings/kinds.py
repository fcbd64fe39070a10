"""The built-in activity kinds and their normalized statuses.

``config/mappings/README.md`` documents them; a mapping file may declare kinds of its own under
``kinds:``. What a CRM's objects and fields are is each CRM's business (its dialect, in
``connectors/<crm>/``), not this package's.
"""

from __future__ import annotations

KINDS: dict[str, tuple[str, ...]] = {
    "partner": (),
    "opportunity": ("open", "won", "lost"),
    "lead": ("new", "accepted", "rejected", "converted"),
    "deal_registration": ("submitted", "approved", "rejected", "expired", "converted"),
    "training": ("enrolled", "completed"),
    "certification": ("enrolled", "certified", "expired"),
    "marketing": ("planned", "completed", "cancelled"),
    "fund": ("allocated", "draft", "submitted", "approved", "rejected"),
    "rate": (),
    "plan": ("draft", "shared", "changes_requested", "accepted", "active", "closed"),
    "plan_section": (),
    "plan_target": (),
    "plan_response": ("accept", "request_changes"),
}
"""Built-in kinds and their normalized statuses.

Some kinds are not activities metrics count: a ``partner`` record becomes a partner, and a
``rate`` record (Salesforce's DatedConversionRate, say) a dated currency rate in the rate
table, tagged with its stream's name (``rates.yaml``'s ``stream:`` converts with it). The plan
kinds (:data:`PLAN_KINDS`) carry what the CRM says about plans: plan records (a channel
manager's own plans, and the CRM's copy of config plans), their sections and targets, and the
partner's responses; ``plans`` reads them by the attribute names in ``config/mappings/README.md``.
A ``fund`` is a market development fund record (an allocation, a request, its approval or a
claim, told apart by the attribute ``fund_type``).
"""
PLAN_KINDS = ("plan", "plan_section", "plan_target", "plan_response")
"""Kinds that describe plans and responses, not activities a metric counts."""
NOT_COUNTED = ("partner", "rate", *PLAN_KINDS)
"""Kinds no metric reads: their attributes are read by name (see above), never reported unused."""
RATE_FIELDS = ("currency", "amount", "occurred_on")
"""What a ``rate`` stream must map: the currency, its rate (units of it per one unit of the
base currency) and the first day the rate applies; ``attributes.base`` names the base
currency and ``attributes.until`` the first day it no longer applies (open when absent)."""
