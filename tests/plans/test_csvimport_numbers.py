"""Numbers in a sheet: read when only one reading exists, refused (naming the option) otherwise."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plans.csvimport import DecimalSeparator, NumberError, parse_number

POINT, COMMA = DecimalSeparator.point, DecimalSeparator.comma


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("1234.56", None, "1234.56"),
        ("1234", None, "1234"),
        ("1,234.56", None, "1234.56"),
        ("1,234,567.8", None, "1234567.8"),
        ("0.35", None, "0.35"),
        (".5", None, "0.5"),
        ("1 234", None, "1234"),
        ("50.000", POINT, "50.000"),
        ("120,000", POINT, "120000"),
        ("1.234,56", COMMA, "1234.56"),
        ("12,5", COMMA, "12.5"),
        ("50.000", COMMA, "50000"),
        ("1 234,56", COMMA, "1234.56"),
        ("1234", COMMA, "1234"),
    ],
)
def test_a_number_with_one_reading_is_read(text, decimal, expected):
    """Plain, grouped and decimal numbers read under the separator given (or the only one)."""
    assert Decimal(expected) == parse_number(text, decimal).value


def test_a_percent_sign_is_read_and_reported():
    """`35%` is 35, flagged as written with a percent sign."""
    number = parse_number("35%")
    assert (Decimal(35), True) == (number.value, number.percent)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "1.234,56",
            "'1.234,56' has a decimal comma; pass --decimal-separator , to read the sheet that "
            "way (or write 1234.56)",
        ),
        (
            "12,5",
            "'12,5' has a decimal comma; pass --decimal-separator , to read the sheet that way "
            "(or write 12.5)",
        ),
        (
            "50.000",
            "'50.000' is ambiguous: 50 with a decimal point, 50000 with a decimal comma; pass "
            "--decimal-separator . or --decimal-separator , to say which (or write it without a "
            "thousands separator)",
        ),
        (
            "120,000",
            "'120,000' is ambiguous: 120000 with a decimal point, 120 with a decimal comma; pass "
            "--decimal-separator . or --decimal-separator , to say which (or write it without a "
            "thousands separator)",
        ),
        ("1e3", "'1e3' is not a number; write digits, e.g. 1234.56"),
        ("1.2.3", "'1.2.3' is not a number; write digits, e.g. 1234.56"),
    ],
)
def test_a_number_that_could_be_misread_is_refused_without_the_option(text, expected):
    """Without --decimal-separator, a comma-decimal or two-way number is refused, saying why."""
    with pytest.raises(NumberError) as info:
        parse_number(text)
    assert expected == str(info.value)


def test_a_number_in_the_other_convention_says_how_it_would_read():
    """With --decimal-separator ., `1.234,56` is refused and the comma reading is suggested."""
    with pytest.raises(NumberError) as info:
        parse_number("1.234,56", POINT)
    expected = (
        "'1.234,56' is not a number written with '.' for decimals (it reads as 1234.56 with "
        "--decimal-separator ,)"
    )
    assert expected == str(info.value)
