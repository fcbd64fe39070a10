"""The generated world both sandbox CRMs describe: partners, time span, and per-record randomness.

Nothing here is stored. Every value is a pure function of (seed, object, index), drawn from a
splitmix64 stream, so a record can be rebuilt on demand and a million records cost no memory.
Modified timestamps rise with the index, which makes "ORDER BY SystemModstamp, Id" the same order
as the index and lets the store answer incremental queries with a bisect instead of a sort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import TypeVar

from sandbox.formats import day_ms

T = TypeVar("T")
_MASK = (1 << 64) - 1
DAY_MS = 86_400_000
_SPAN = 1200  # days either side of the anchor that generated dates may take
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
TIERS = ("Platinum", "Gold", "Silver", "Registered")
CURRENCIES = ("USD", "EUR", "GBP", "JPY")
USD_RATE = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.0}
CHANNEL_MANAGERS = (
    ("Dana", "Whitfield", "NA"),
    ("Jonas", "Berg", "EMEA"),
    ("Mei", "Tanaka", "APAC"),
    ("Lucia", "Ramos", "LATAM"),
)
"""The vendor's channel managers, one per region: Salesforce users and HubSpot owners."""
_WORDS = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Gringotts",
    "Oscorp",
    "Massive",
    "Dynamic",
    "Aperture",
    "Blue",
    "Sun",
    "Nakatomi",
    "Virtucon",
    "Monarch",
    "Duff",
    "Prestige",
    "Sirius",
    "Kestrel",
    "Borealis",
    "Cobalt",
    "Granite",
    "Harbor",
    "Juniper",
    "Lumen",
    "Meridian",
    "Northwind",
    "Orchid",
    "Pioneer",
    "Quartz",
    "Redwood",
    "Summit",
    "Tidal",
    "Vertex",
    "Willow",
    "Zenith",
    "Atlas",
    "Beacon",
    "Cascade",
    "Delta",
    "Ember",
    "Falcon",
]
FIRST = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farah",
    "Gus",
    "Hana",
    "Ivan",
    "Jon",
    "Kira",
    "Liam",
    "Mona",
    "Nico",
    "Olga",
    "Pia",
    "Raj",
    "Sara",
]
LAST = [
    "Ng",
    "Smith",
    "Garcia",
    "Kim",
    "Müller",
    "Rossi",
    "Dubois",
    "Tanaka",
    "Okafor",
    "Silva",
    "Novak",
    "Cohen",
    "Patel",
    "Berg",
]


def _mix(value: int) -> int:
    value = (value + 0x9E3779B97F4A7C15) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


class Draw:
    """A tiny deterministic random stream: seeded by splitmix64, stepped by a 64-bit LCG.

    Far cheaper than ``random.Random`` to seed and to step, which matters at a million records;
    the LCG's statistical weaknesses do not matter for fake CRM data.
    """

    __slots__ = ("state",)

    def __init__(self, *parts: int) -> None:
        state = 0
        for part in parts:
            state = _mix(state ^ part)
        self.state = state

    def next(self) -> int:
        """The next value (48 bits)."""
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & _MASK
        return self.state >> 16

    def below(self, n: int) -> int:
        """A value in ``[0, n)``."""
        return self.next() % n

    def pick(self, options: Sequence[T]) -> T:
        """One of ``options``."""
        return options[self.next() % len(options)]

    def weighted(self, options: Sequence[T], weights: Sequence[int]) -> T:
        """One of ``options``, with the given integer weights."""
        roll = self.next() % sum(weights)
        for option, weight in zip(options, weights, strict=True):
            if roll < weight:
                return option
            roll -= weight
        return options[-1]

    def chance(self, percent: int) -> bool:
        """True ``percent`` times in a hundred."""
        return self.next() % 100 < percent


@dataclass(frozen=True)
class World:
    """Seed, scale (number of partners) and the day the data is "as of"."""

    seed: int
    scale: int
    anchor: date
    _days: list[str] = field(default_factory=list, compare=False, repr=False)
    _offsets: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    _partners: dict[int, dict[str, str]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Precompute day strings: building dates is most of a record's cost otherwise."""
        for offset in range(-_SPAN, _SPAN):
            text = (self.anchor + timedelta(days=offset)).isoformat()
            self._days.append(text)
            self._offsets[text] = offset

    @classmethod
    def create(cls, seed: int, scale: int, anchor: date | None = None) -> World:
        """Anchor defaults to today (UTC): dates span two years back and two quarters ahead."""
        return cls(seed, max(scale, 1), anchor or datetime.now(UTC).date())

    @cached_property
    def anchor_ms(self) -> int:
        """Midnight UTC at the start of the anchor day: every generated change lies before it."""
        return day_ms(self.anchor)

    @cached_property
    def start_ms(self) -> int:
        """Two years before the anchor."""
        return self.anchor_ms - 730 * DAY_MS

    def draw(self, object_code: int, index: int) -> Draw:
        """The random stream of one record."""
        return Draw(self.seed, object_code, index)

    def modstamp(self, count: int, index: int, *, whole_seconds: bool) -> int:
        """Record ``index``'s last-modified instant: rising with the index over two years.

        One "bulk import" gives a tenth of the records (those from 40 % of the range on) the
        same instant, so paging at timestamp ties is exercised at every scale.
        """
        low, high = self.start_ms + DAY_MS, self.anchor_ms - 3_600_000
        block = count * 2 // 5
        if block <= index < block + max(count // 10, 2):
            index = block
        value = low + (index * (high - low)) // max(count, 1)
        return value - value % 1000 if whole_seconds else value

    def day(self, draw: Draw, first: int, last: int) -> str:
        """A ``YYYY-MM-DD`` between ``first`` and ``last`` days from the anchor."""
        return self._days[_SPAN + first + draw.below(last - first + 1)]

    def days_after(self, day: str, draw: Draw, low: int, high: int) -> str:
        """A day ``low``..``high`` days after ``day`` (no later than the anchor + a year)."""
        offset = self._offsets[day] + low + draw.below(high - low + 1)
        return self._days[_SPAN + min(offset, _SPAN - 1)]

    def partner(self, index: int) -> dict[str, str]:
        """Partner ``index``'s shared identity: the same in both CRMs."""
        known = self._partners.get(index)
        if known is not None:
            return known
        draw = Draw(self.seed, 7, index)
        name = f"{draw.pick(_WORDS)} {draw.pick(_WORDS)} Partners {index + 1}"
        partner = {
            "key": f"P-{index + 1:05d}",
            "name": name,
            "tier": draw.weighted(TIERS, (1, 3, 4, 4)),
            "region": draw.weighted(REGIONS, (5, 4, 2, 1)),
            "currency": draw.weighted(CURRENCIES, (6, 3, 2, 1)),
            "domain": f"partner{index + 1}.example.com",
        }
        self._partners[index] = partner
        return partner

    def company(self, draw: Draw) -> str:
        """A customer company name."""
        return f"{draw.pick(_WORDS)} {draw.pick(('Corp', 'GmbH', 'Ltd', 'KK', 'SA', 'Inc'))}"

    def amount(self, draw: Draw, currency: str) -> float:
        """A deal size: mostly thousands to hundreds of thousands, in ``currency``'s units."""
        usd = draw.weighted((5_000, 20_000, 80_000, 250_000), (4, 4, 2, 1)) * (50 + draw.below(150))
        value = usd / 100 * USD_RATE[currency]
        return float(round(value)) if currency == "JPY" else round(value, 2)
