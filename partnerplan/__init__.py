"""partnerplan: keeps joint business plans with channel partners current from the CRM.

The flow runs left to right through the packages, and each imports only from those to its left:
``connectors`` (talk to CRMs) → ``mappings`` (raw records → activities) → ``plans`` (store,
metrics, progress) → ``worker`` (actors, scheduler, CLI). Shared plumbing that every stage uses
(errors, the YAML config loader, logging) lives in top-level modules.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"
