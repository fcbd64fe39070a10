"""Local Salesforce and HubSpot servers that the unmodified client libraries cannot tell apart.

``Sandbox`` starts both in-process (see :mod:`.sandbox`); ``partnerplan sandbox serve`` runs
them from the command line (:mod:`.server`). The data model is in ``DATA.md``; fault keys are
in :mod:`.faults`.
"""

from __future__ import annotations

from sandbox.faults import FaultSpec, FaultSpecError
from sandbox.sandbox import Sandbox

__all__ = ["FaultSpec", "FaultSpecError", "Sandbox"]
