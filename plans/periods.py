"""Plan periods: ``2026``, ``2026-Q4``, ``2026-H1``, ``2026-03``, ``FY2027``, ``FY2027-Q1``.

A period is a half-open range of dates ``[start, end)``: an activity dated on ``end`` belongs to
the next period, so adjacent periods never count the same activity twice. Fiscal periods depend
on the month the fiscal year starts (settings ``fiscal_year_start_month``); following the common
convention, a fiscal year is named after the calendar year in which it *ends*, so with a February
start ``FY2027`` runs from 2026-02-01 to 2027-02-01.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_PATTERN = re.compile(
    r"^(?P<fy>FY)?(?P<year>\d{4})(?:-(?:(?P<q>Q[1-4])|(?P<h>H[12])|(?P<m>0[1-9]|1[0-2])))?$"
)


@dataclass(frozen=True, order=True)
class Period:
    """A named half-open date range ``[start, end)``."""

    start: date
    end: date
    name: str

    @property
    def days(self) -> int:
        """Number of days in the period (a leap year's Q1 has 91)."""
        return (self.end - self.start).days

    def overlaps(self, other: Period) -> bool:
        """Whether two half-open periods share at least one day."""
        return self.start < other.end and other.start < self.end

    def months(self) -> list[Period]:
        """The calendar months making up the period, for monthly phasing."""
        out: list[Period] = []
        cursor = self.start
        while cursor < self.end:
            following = _add_months(cursor, 1)
            out.append(Period(cursor, min(following, self.end), f"{cursor:%Y-%m}"))
            cursor = following
        return out


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def parse_period(text: str, *, fiscal_year_start_month: int = 1) -> Period:
    """Parse a period name; raise ``ValueError`` with the accepted forms if it does not parse."""
    match = _PATTERN.match(str(text).strip())
    if match is None:
        raise ValueError(
            f"period {text!r} does not parse; write 2026, 2026-Q4, 2026-H1, 2026-03, FY2027 "
            "or FY2027-Q1 (fiscal periods follow settings fiscal_year_start_month)"
        )
    year = int(match["year"])
    fiscal = match["fy"] is not None
    if fiscal:
        if match["m"]:
            raise ValueError(
                f"period {text!r}: fiscal months are not supported; use the calendar month "
                "(e.g. 2026-03) or a fiscal quarter (FY2027-Q1)"
            )
        first = 1 if fiscal_year_start_month == 1 else fiscal_year_start_month
        year_start = date(year if fiscal_year_start_month == 1 else year - 1, first, 1)
    else:
        year_start = date(year, 1, 1)
    name = str(text).strip()
    if match["m"]:
        start = date(year, int(match["m"]), 1)
        return Period(start, _add_months(start, 1), name)
    if match["q"]:
        start = _add_months(year_start, 3 * (int(match["q"][1]) - 1))
        return Period(start, _add_months(start, 3), name)
    if match["h"]:
        start = _add_months(year_start, 6 * (int(match["h"][1]) - 1))
        return Period(start, _add_months(start, 6), name)
    return Period(year_start, _add_months(year_start, 12), name)
