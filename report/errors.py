"""What can go wrong making a report, grouped by what the user does about it.

::

    PartnerplanError (partnerplan.errors)
    ├── ConfigurationError                 CLI exit 2: fix the command or install what is missing
    │   ├── UnknownPlan                    no plan with that key in the store
    │   └── NoBrowser                      ``--pdf`` found no Chromium or Chrome to print with
    └── FatalError                         CLI exit 1
        └── PdfFailed                      the browser ran but wrote no PDF (its words attached)
"""

from __future__ import annotations

from partnerplan.errors import ConfigurationError, FatalError


class UnknownPlan(ConfigurationError):
    """The plan key given to ``report --plan`` is not in the store."""


class NoBrowser(ConfigurationError):
    """No headless browser to print the PDF with; the message says how to get one."""


class PdfFailed(FatalError):
    """The browser did not produce the PDF."""
