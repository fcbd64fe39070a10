"""The one exception tree of partnerplan, grouped by what the caller does about an error.

::

    PartnerplanError                 root: catch this to catch everything we raise
    ├── ConfigurationError           fix your YAML, env or CRM setup; never retried; CLI exit 2
    │   └── ConfigProblems           one or more `Problem` (file, line, key, message)
    ├── RetriableError               back off and try again (429, 5xx, timeouts, a held lock)
    │   └── RateLimited              the CRM said slow down; carries ``retry_after`` seconds
    ├── RecordError                  one record is bad: quarantine it with the reason, carry on
    ├── BudgetExhausted              the configured share of the CRM's daily API budget is spent:
    │                                stop at a page boundary, mark the run incomplete
    ├── Interrupted                  Ctrl-C or SIGTERM: unfinished runs marked, CLI exit 130
    └── FatalError                   stop the run; a human must look (credentials rejected, ...)

Messages say what went wrong, where, and how to fix it. They never carry a secret: values that
came from secret settings are registered with :mod:`partnerplan.logs` and masked on the way out.
"""

from __future__ import annotations

from dataclasses import dataclass


class PartnerplanError(Exception):
    """Root of every error partnerplan raises on purpose."""


class ConfigurationError(PartnerplanError):
    """The configuration, the environment or the CRM setup is wrong; retrying will not help."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a config file, located so that an editor can jump to it."""

    file: str
    line: int
    message: str
    key: str = ""
    severity: str = "error"

    def render(self) -> str:
        """Render as ``FILE:LINE: key: message`` (the format editors and CI annotate)."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        label = "" if self.severity == "error" else f"{self.severity}: "
        key = f"{self.key}: " if self.key else ""
        return f"{where}: {label}{key}{self.message}"


class ConfigProblems(ConfigurationError):
    """A collection of located problems, reported together so a user fixes them in one pass."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(p.render() for p in self.problems))


class RetriableError(PartnerplanError):
    """A transient failure: the same call may succeed after a pause."""


class RateLimited(RetriableError):
    """The CRM asked us to slow down."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RecordError(PartnerplanError):
    """One record cannot be processed; it is quarantined with this reason and the run goes on."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BudgetExhausted(PartnerplanError):
    """The configured share of the daily API budget is spent; the run stops cleanly, incomplete."""


class Interrupted(PartnerplanError):
    """A signal stopped the run; what it had started is marked ``interrupted``, never resent."""


class FatalError(PartnerplanError):
    """The run cannot go on and a human must look (e.g. the CRM rejected our credentials)."""
