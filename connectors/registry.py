"""The registry: from a source's ``type:`` to its CRM's entry (settings, connector, dialect).

Every stage that needs something CRM-specific asks here by kind, so adding a CRM is one folder
under ``connectors/`` and one line in :mod:`connectors.crms`; an unknown kind is an error that
names the known ones, never a silent fallback to another CRM's behaviour.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from connectors.base import Connector
from connectors.dialect import Dialect
from connectors.retry import RetryPolicy
from connectors.settings import SourceSettings
from connectors.setup import CrmSetup
from partnerplan.errors import ConfigurationError

Connect = Callable[[str, Any, RetryPolicy | None], Connector]
"""Builds a connector: ``(source name, its validated settings, retry policy or None)``."""
SetupFactory = Callable[[str, Any], CrmSetup]
"""Builds what ``partnerplan crm setup`` runs: ``(source name, its validated settings)``."""


@dataclass(frozen=True)
class Crm:
    """Everything the rest of partnerplan may know about one CRM.

    Attributes:
        kind: What ``type:`` says in settings.yaml (``salesforce``, ``hubspot``).
        settings: The pydantic model of a source of this kind (``type`` a ``Literal[kind]``).
        connect: Builds the connector of a configured source.
        dialect: The CRM's answers to the stages' questions.
        setup: Creates what write-back needs in the CRM, when that can be done through its
            API; None when an admin installs it another way (see ``setup_hint``).
        setup_hint: What to do instead when ``setup`` is None.
    """

    kind: str
    settings: type[SourceSettings]
    connect: Connect
    dialect: Dialect
    setup: SetupFactory | None = None
    setup_hint: str = ""


class Registry:
    """The CRMs partnerplan can talk to, by kind."""

    def __init__(self, crms: Iterable[Crm] = ()) -> None:
        self._crms: dict[str, Crm] = {}
        for crm in crms:
            self.register(crm)

    def register(self, crm: Crm) -> None:
        """Add a CRM; a kind can be registered once."""
        if crm.kind in self._crms:
            raise ValueError(f"a CRM of kind {crm.kind!r} is already registered")
        self._crms[crm.kind] = crm

    def unregister(self, kind: str) -> None:
        """Remove a CRM (tests that register one of their own clean up with this)."""
        self._crms.pop(kind, None)

    def kinds(self) -> list[str]:
        """The registered kinds, in registration order."""
        return list(self._crms)

    def get(self, kind: str) -> Crm:
        """The CRM of ``kind``, or a configuration error naming the known kinds."""
        crm = self._crms.get(kind)
        if crm is None:
            hint = difflib.get_close_matches(kind, self.kinds(), n=1)
            suggestion = f"did you mean {hint[0]!r}? " if hint else ""
            raise ConfigurationError(
                f"unknown CRM kind {kind!r}; {suggestion}known kinds: {', '.join(self.kinds())}"
            )
        return crm

    def dialect(self, kind: str) -> Dialect:
        """The dialect of ``kind``."""
        return self.get(kind).dialect

    def connect(
        self, name: str, settings: SourceSettings, retry: RetryPolicy | None = None
    ) -> Connector:
        """The connector of source ``name`` (Salesforce logs in on first use, not here).

        ``retry`` is the worker's retry budget (settings.yaml's ``retries:``); tests pass one
        that does not sleep; None is the connector's default.
        """
        return self.get(settings.type).connect(name, settings, retry)

    def settings_models(self) -> tuple[type[SourceSettings], ...]:
        """Each registered CRM's source settings model, in registration order."""
        return tuple(crm.settings for crm in self._crms.values())
