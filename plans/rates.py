"""Currency rates: ``config/rates.yaml`` loaded, validated and stored in ``fx_rate``.

Rates follow Salesforce's ``DatedConversionRate`` convention: ``rate`` is how many units of the
currency one unit of the ``base`` currency buys, valid from ``from`` until the next entry's
``from``. Converting an amount from currency C to currency T on day d is then
``amount x rate(T, d) / rate(C, d)``, with ``rate(base, d) = 1``; the engine does this in
``Decimal`` per group of activities sharing a rate period, never in float.

```yaml
version: 1
base: USD
rates:
  EUR:
    - {from: 2025-01-01, rate: "0.92"}   # 1 USD = 0.92 EUR from 2025-01-01
    - {from: 2026-01-01, rate: "0.95"}
```
A date before a currency's first entry has no rate: converting it is an error naming the
currency and the date, never a silent 1.0.

Rates can come from the CRM instead: a ``kind: rate`` mapping stream (Salesforce's
``DatedConversionRate``) stores them tagged with the stream's name, and

```yaml
version: 1
base: USD
stream: sf_rates      # convert with the rates this stream pulled; entries below are kept
```
converts with those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Self

from pydantic import Field, field_validator, model_validator
from sqlalchemy import delete, select
from sqlmodel import Session, col

from partnerplan.config import StrictModel, parse, validate
from partnerplan.errors import Problem
from plans.store import FxRateRow

CONFIG_SOURCE = "config"


class RateEntry(StrictModel):
    """One rate, valid from ``from`` until the next entry."""

    from_: date = Field(alias="from")
    rate: Decimal = Field(gt=0)

    @field_validator("rate", mode="before")
    @classmethod
    def _exact(cls, value: object) -> object:
        # YAML reads 0.92 as a float; its shortest repr is the decimal the user wrote.
        return str(value) if isinstance(value, float) else value


class RatesFile(StrictModel):
    """The whole of ``config/rates.yaml``."""

    version: int = 1
    base: str = Field(pattern=r"^[A-Z]{3}$")
    stream: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    """A ``kind: rate`` mapping stream whose stored rates convert currencies, instead of
    the entries under ``rates:``."""
    rates: dict[str, list[RateEntry]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Self:
        for currency, entries in self.rates.items():
            if len(currency) != 3 or not currency.isupper():
                raise ValueError(f"currency {currency!r} is not an ISO code like EUR")
            days = [e.from_ for e in entries]
            if days != sorted(set(days)):
                raise ValueError(f"{currency}: entries must have increasing, distinct from dates")
        return self


@dataclass
class RateSet:
    """Rates ready to store: one row per currency and validity range."""

    base: str
    source: str = CONFIG_SOURCE
    rows: list[dict[str, str | None]] = field(default_factory=list)
    use: str = CONFIG_SOURCE
    """The stored rates that convert: these (``config``) or a CRM stream's (its name)."""

    @classmethod
    def from_file(cls, rates: RatesFile, source: str = CONFIG_SOURCE) -> RateSet:
        """Turn each currency's entries into ``[start, next start)`` ranges."""
        rows: list[dict[str, str | None]] = []
        for currency, entries in rates.rates.items():
            for entry, following in zip(entries, [*entries[1:], None], strict=True):
                rows.append(
                    {
                        "source": source,
                        "base": rates.base,
                        "currency": currency,
                        "start_on": entry.from_.isoformat(),
                        "end_on": following.from_.isoformat() if following else None,
                        "rate": str(entry.rate),
                    }
                )
        return cls(base=rates.base, source=source, rows=rows, use=rates.stream or source)


def load_rates(config_dir: Path) -> tuple[RateSet | None, list[Problem]]:
    """``config_dir/rates.yaml`` as a :class:`RateSet` (``None`` without problems if absent)."""
    path = config_dir / "rates.yaml"
    if not path.exists():
        return None, []
    doc = parse(path)
    loaded = validate(doc, RatesFile)
    if loaded is None:
        return None, doc.problems
    return RateSet.from_file(loaded), doc.problems


def sync_rates(session: Session, rates: RateSet) -> bool:
    """Replace the stored rates of ``rates.source`` with ``rates``; True if they changed.

    Unchanged rates are not rewritten, so a sync that touches no rate writes nothing here.
    """
    fields = ("base", "currency", "start_on", "end_on", "rate")
    query = select(*(getattr(FxRateRow, f) for f in fields)).where(
        col(FxRateRow.source) == rates.source
    )
    stored = {tuple(row) for row in session.execute(query)}
    wanted = {tuple(row[f] for f in fields) for row in rates.rows}
    if stored == wanted:
        return False
    session.execute(delete(FxRateRow).where(col(FxRateRow.source) == rates.source))
    if rates.rows:
        session.execute(FxRateRow.__table__.insert(), rates.rows)  # type: ignore[attr-defined]
    return True
