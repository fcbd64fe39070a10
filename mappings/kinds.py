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
    "rate": (),
}
"""Built-in kinds and their normalized statuses.

Two kinds are not activities metrics count: a ``partner`` record becomes a partner, and a
``rate`` record (Salesforce's DatedConversionRate, say) a dated currency rate in the rate
table, tagged with its stream's name (``rates.yaml``'s ``stream:`` converts with it).
"""
RATE_FIELDS = ("currency", "amount", "occurred_on")
"""What a ``rate`` stream must map: the currency, its rate (units of it per one unit of the
base currency) and the first day the rate applies; ``attributes.base`` names the base
currency and ``attributes.until`` the first day it no longer applies (open when absent)."""
