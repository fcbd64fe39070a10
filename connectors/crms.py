"""The CRMs partnerplan ships with: one line each (``connectors/README.md``, "Adding a CRM")."""

from __future__ import annotations

from connectors import hubspot, salesforce
from connectors.registry import Registry

REGISTRY = Registry([salesforce.CRM, hubspot.CRM])
"""Every stage looks a source's CRM up here by its ``type:``."""
