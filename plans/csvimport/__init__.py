"""``partnerplan plans import FILE.csv``: plans and targets from a spreadsheet export.

One row per partner x metric. Columns (header names, any order, any capitalisation):

=========== =============================================================================
partner     the partner key (required)
period      2026-Q4, 2026, 2026-H1, 2026-03, FY2027, FY2027-Q1 (required)
metric      a metric key or label, e.g. ``won_revenue`` or ``Closed-won revenue`` (required)
value       the target: ``1234.56``, ``1,234.56``; ``35`` or ``35%`` for a percentage (required)
currency    for money metrics (USD, EUR, ...); empty for the others
weight      the target's weight in the plan score (default 1)
section     the section to put the target in (default ``Objectives``)
plan        the plan key (default ``{partner}-{period}``)
status      draft, proposed, accepted, active or closed, any capitalisation (default draft)
owner       the plan's owner
filter      ``attribute=value``, several separated by ``;``
key         the target key (default: the metric, plus its filter values)
=========== =============================================================================

The cells are separated by ``,``, ``;`` or tabs (detected from the header, or ``--delimiter``).
A number that reads differently with a decimal point and a decimal comma (``50.000``) is
refused unless ``--decimal-separator`` says which the sheet uses.

The rows are merged into ``config/plans/<sheet name>.yaml``: a plan or target with the same key
is updated in place, others are added, so re-importing a corrected sheet updates the file; its
comments and everything the sheet does not mention are kept. Nothing is written unless every
row is good and the whole config directory, new file included, validates: every problem is
reported as ``FILE.csv:LINE: column: message`` (exit 2), at the row that causes it.

Modules, in the order a row goes through them: :mod:`~plans.csvimport.sheet` (delimiter,
header, rows), :mod:`~plans.csvimport.decimals` (numbers), :mod:`~plans.csvimport.rows` (one
row's cells), :mod:`~plans.csvimport.conflicts` (rows against each other and config),
:mod:`~plans.csvimport.document` (the round-trip YAML file), :mod:`~plans.csvimport.importer`
(the whole sheet) and :mod:`~plans.csvimport.files` (validate, then write).
"""

from __future__ import annotations

from plans.csvimport.decimals import DecimalSeparator, NumberError, parse_number
from plans.csvimport.files import validate_in_copy, write_atomically
from plans.csvimport.importer import ImportResult, import_csv
from plans.csvimport.sheet import delimiter_option

__all__ = [
    "DecimalSeparator",
    "ImportResult",
    "NumberError",
    "delimiter_option",
    "import_csv",
    "parse_number",
    "validate_in_copy",
    "write_atomically",
]
