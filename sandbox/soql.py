"""The SOQL subset the sandbox understands: a tokenizer and a recursive-descent parser (no eval).

Grammar::

    query   := SELECT fields FROM name [WHERE cond] [ORDER BY order {, order}] [LIMIT n] [OFFSET n]
    fields  := COUNT() | COUNT(path) | path {, path}
    cond    := conj {OR conj};  conj := neg {AND neg};  neg := NOT neg | '(' cond ')' | test
    test    := path op value | path [NOT] IN '(' value {, value} ')' | path LIKE string
    order   := path [ASC|DESC] [NULLS FIRST|LAST]
    value   := string | number | TRUE | FALSE | NULL | date | datetime | TODAY | LAST_N_DAYS:n ...

Errors carry Salesforce's ``MALFORMED_QUERY`` message layout (the query, a caret, the column).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.formats import day_ms, parse_instant


class SoqlError(Exception):
    """A query Salesforce would reject; ``code`` is its errorCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DateLit:
    """A date literal (``2024-04-01`` or a date keyword), as ``YYYY-MM-DD``."""

    day: str


@dataclass(frozen=True)
class DateTimeLit:
    """A dateTime literal, as epoch ms."""

    ms: int


@dataclass(frozen=True)
class Path:
    """A field path as written (``PartnerAccount.Partner_Key__c``) and its column in the query."""

    parts: tuple[str, ...]
    column: int


@dataclass(frozen=True)
class Compare:
    """``path op value``."""

    path: Path
    op: str
    value: Any


@dataclass(frozen=True)
class InList:
    """``path [NOT] IN (values)``."""

    path: Path
    values: tuple[Any, ...]
    negate: bool


@dataclass(frozen=True)
class Like:
    """``path LIKE 'pattern'``."""

    path: Path
    pattern: str


@dataclass(frozen=True)
class BoolOp:
    """``AND``/``OR`` of several conditions, or ``NOT`` of one."""

    op: str
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Order:
    """One ORDER BY item."""

    path: Path
    descending: bool
    nulls_last: bool


@dataclass
class Query:
    """A parsed SELECT."""

    text: str
    fields: list[Path]
    sobject: str
    sobject_column: int
    count: Path | bool | None = False
    where: Any = None
    order: list[Order] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?::\d+)?)
    """,
    re.VERBOSE,
)
_KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
    "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE", "COUNT",
}  # fmt: skip
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    column: int

    @property
    def upper(self) -> str:
        return self.text.upper()


def _tokenize(text: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _malformed(text, position + 1, f"unexpected token: '{text[position]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), position + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


def _malformed(text: str, column: int, message: str, code: str = "MALFORMED_QUERY") -> SoqlError:
    caret = " " * (column - 1) + "^"
    return SoqlError(code, f"\n{text}\n{caret}\nERROR at Row:1:Column:{column}\n{message}")


def _relative_day(keyword: str) -> DateLit | tuple[DateLit, DateLit] | None:
    today = datetime.now(UTC).date()
    fixed = {"TODAY": 0, "YESTERDAY": -1, "TOMORROW": 1}
    name, _, number = keyword.upper().partition(":")
    if name in fixed and not number:
        return DateLit((today + timedelta(days=fixed[name])).isoformat())
    if name in {"LAST_N_DAYS", "NEXT_N_DAYS"} and number:
        days = int(number)
        if name == "LAST_N_DAYS":
            return DateLit((today - timedelta(days=days)).isoformat()), DateLit(today.isoformat())
        return DateLit(today.isoformat()), DateLit((today + timedelta(days=days)).isoformat())
    return None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.at = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def error(self, token: _Token | None = None) -> SoqlError:
        token = token or self.token
        shown = token.text or "<EOF>"
        return _malformed(self.text, token.column, f"unexpected token: '{shown}'")

    def keyword(self, *words: str) -> bool:
        if self.token.kind == "name" and self.token.upper in words:
            self.at += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.keyword(word) and not self.punct(word):
            raise self.error()

    def punct(self, char: str) -> bool:
        if self.token.kind == "punct" and self.token.text == char:
            self.at += 1
            return True
        return False

    def path(self) -> Path:
        token = self.token
        if token.kind != "name" or token.upper in _KEYWORDS or ":" in token.text:
            raise self.error()
        self.at += 1
        return Path(tuple(token.text.split(".")), token.column)

    def number(self) -> int:
        token = self.token
        if token.kind != "number" or not token.text.isdigit():
            raise self.error()
        self.at += 1
        return int(token.text)

    def query(self) -> Query:
        self.expect("SELECT")
        count: Path | bool | None = False
        fields: list[Path] = []
        if self.token.kind == "name" and self.token.upper == "COUNT":
            self.at += 1
            self.expect("(")
            count = None if self.punct(")") else self.path()
            if count is not None:
                self.expect(")")
        else:
            fields.append(self.path())
            while self.punct(","):
                fields.append(self.path())
        self.expect("FROM")
        name = self.token
        if name.kind != "name" or "." in name.text or name.upper in _KEYWORDS:
            raise self.error()
        self.at += 1
        query = Query(self.text, fields, name.text, name.column, count=count)
        if self.keyword("WHERE"):
            query.where = self.disjunction()
        if self.keyword("ORDER"):
            self.expect("BY")
            query.order.append(self.order())
            while self.punct(","):
                query.order.append(self.order())
        if self.keyword("LIMIT"):
            query.limit = self.number()
        if self.keyword("OFFSET"):
            query.offset = self.number()
        if self.token.kind != "end":
            raise self.error()
        return query

    def order(self) -> Order:
        path = self.path()
        descending = self.keyword("DESC")
        if not descending:
            self.keyword("ASC")
        nulls_last = descending
        if self.keyword("NULLS"):
            if self.keyword("LAST"):
                nulls_last = True
            else:
                self.expect("FIRST")
                nulls_last = False
        return Order(path, descending, nulls_last)

    def disjunction(self) -> Any:
        items = [self.conjunction()]
        while self.keyword("OR"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def conjunction(self) -> Any:
        items = [self.negation()]
        while self.keyword("AND"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def negation(self) -> Any:
        if self.keyword("NOT"):
            return BoolOp("NOT", (self.negation(),))
        if self.punct("("):
            inner = self.disjunction()
            self.expect(")")
            return inner
        return self.test()

    def test(self) -> Any:
        path = self.path()
        if self.keyword("LIKE"):
            token = self.token
            if token.kind != "string":
                raise self.error()
            self.at += 1
            return Like(path, self.string(token.text))
        negate = self.keyword("NOT")
        if self.keyword("IN"):
            self.expect("(")
            values = [self.value()]
            while self.punct(","):
                values.append(self.value())
            self.expect(")")
            return InList(path, tuple(values), negate)
        if negate:
            raise self.error()
        token = self.token
        if token.kind != "op":
            raise self.error()
        self.at += 1
        op = "!=" if token.text == "<>" else token.text
        value = self.value()
        if isinstance(value, tuple):  # LAST_N_DAYS:n and friends are ranges
            low, high = value
            ranges = {"=": ("AND", ">=", "<="), "!=": ("OR", "<", ">")}
            if op in ranges:
                joiner, first, second = ranges[op]
                return BoolOp(joiner, (Compare(path, first, low), Compare(path, second, high)))
            value = low if op in {">", ">="} else high
        return Compare(path, op, value)

    def string(self, quoted: str) -> str:
        body = quoted[1:-1]
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)

    def value(self) -> Any:
        token = self.token
        self.at += 1
        if token.kind == "string":
            return self.string(token.text)
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "date":
            date.fromisoformat(token.text)
            return DateLit(token.text)
        if token.kind == "datetime":
            return DateTimeLit(parse_instant(token.text))
        if token.kind == "name":
            constants = {"NULL": None, "TRUE": True, "FALSE": False}
            if token.upper in constants:
                return constants[token.upper]
            relative = _relative_day(token.text)
            if relative is not None:
                return relative
        self.at -= 1
        raise self.error()


def parse(text: str) -> Query:
    """Parse one SOQL query.

    Raises:
        SoqlError: ``MALFORMED_QUERY`` with Salesforce's message layout.
    """
    try:
        return _Parser(text).query()
    except ValueError as exc:  # an impossible date such as 2024-02-31
        raise SoqlError("MALFORMED_QUERY", f"\n{text}\n{exc}") from exc


def day_value(literal: DateLit) -> int:
    """A date literal as midnight-UTC epoch ms (for comparing a date with a dateTime field)."""
    return day_ms(date.fromisoformat(literal.day))
