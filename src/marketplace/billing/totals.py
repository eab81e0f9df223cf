"""Invoice arithmetic in integer minor units: per-line half-even rounding, then sums (stdlib only)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LineAmounts:
    net_minor: int
    tax_minor: int

    @property
    def gross_minor(self) -> int:
        return self.net_minor + self.tax_minor


@dataclass(frozen=True)
class Totals:
    subtotal_minor: int
    tax_minor: int
    total_minor: int


def _round(value: Decimal) -> int:
    # Banker's rounding (round half to even) so that rounding errors do not drift one way
    # across many lines; amounts are already in the currency's minor unit, so this is per currency.
    return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))


def line_amounts(quantity: Decimal, unit_amount_minor: int, tax_rate: Decimal) -> LineAmounts:
    """Net = quantity x unit amount, rounded half-even; tax = net x rate / 100, rounded half-even."""
    net = _round(quantity * Decimal(unit_amount_minor))
    tax = _round(Decimal(net) * tax_rate / HUNDRED)
    return LineAmounts(net, tax)


def totals(lines: Iterable[LineAmounts]) -> Totals:
    """Invoice totals are the sums of the already-rounded lines, so the lines always add up."""
    subtotal = tax = 0
    for line in lines:
        subtotal += line.net_minor
        tax += line.tax_minor
    return Totals(subtotal, tax, subtotal + tax)
