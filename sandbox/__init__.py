"""The local CRMs: Salesforce and HubSpot servers the unmodified client libraries cannot tell apart.

A test asset, not part of the sync: it imports nothing from partnerplan's packages (it emulates
the CRMs' published APIs, so sharing our code would let a bug hide on both sides). The one
dependency only it needs, trustme, is the optional ``partnerplan[sandbox]`` extra.

``Sandbox`` starts both in-process (see :mod:`.sandbox`); ``partnerplan sandbox serve`` runs
them from the command line (:mod:`.server`). The data model is in ``DATA.md``; fault keys are
in :mod:`.faults`; the realistic profile's limits (HubSpot's rolling windows, Salesforce's
concurrent long requests) in :mod:`.limits`. Each emulator is an app that routes requests
(:mod:`.salesforce`, :mod:`.hubspot`) over the state its route modules share (:mod:`.sf_org`,
:mod:`.hs_portal`).
The standard objects every org and portal has beside the ones the sync reads are in
:mod:`.sf_standard` / :mod:`.sf_reference` and :mod:`.hs_standard` / :mod:`.hs_owners`; Bulk
API 1.0 is :mod:`.sf_bulk1`.
"""

from __future__ import annotations

from sandbox.faults import FaultSpec, FaultSpecError
from sandbox.sandbox import Sandbox

__all__ = ["FaultSpec", "FaultSpecError", "Sandbox"]
