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
}
"""Built-in kinds and their normalized statuses."""
