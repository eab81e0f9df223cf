"""Invoice arithmetic: half-even rounding per line, totals as sums of rounded lines."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.billing.totals import LineAmounts, line_amounts, totals


@pytest.mark.parametrize(
    ("quantity", "unit", "rate", "net", "tax"),
    [
        ("1", 1000, "20", 1000, 200),
        ("1.5", 95000, "20", 142500, 28500),
        # Net halves round to even: 0.5 x 5 = 2.5 -> 2; 0.5 x 7 = 3.5 -> 4.
        ("0.5", 5, "0", 2, 0),
        ("0.5", 7, "0", 4, 0),
        # Tax halves round to even: 25 x 10% = 2.5 -> 2; 35 x 10% = 3.5 -> 4.
        ("1", 25, "10", 25, 2),
        ("1", 35, "10", 35, 4),
        ("1", 1999, "7.5", 1999, 150),  # 149.925 -> 150
        ("0.333", 100, "19", 33, 6),  # 33.3 -> 33; 6.27 -> 6
        ("3", 0, "20", 0, 0),
    ],
)
def test_line_amounts(quantity: str, unit: int, rate: str, net: int, tax: int) -> None:
    amounts = line_amounts(Decimal(quantity), unit, Decimal(rate))
    assert (amounts.net_minor, amounts.tax_minor) == (net, tax)
    assert amounts.gross_minor == net + tax


def test_totals_are_sums_of_rounded_lines() -> None:
    # Three lines of 2.5 tax each: per line 2 + 2 + 2 = 6 (not round(7.5) = 8 on the sum).
    lines = [line_amounts(Decimal(1), 25, Decimal(10)) for _ in range(3)]
    result = totals(lines)
    assert (result.subtotal_minor, result.tax_minor, result.total_minor) == (75, 6, 81)


def test_empty_totals() -> None:
    assert totals([]).total_minor == 0
    assert LineAmounts(10, 2).gross_minor == 12
