"""Pure parts of quotes: family stand-ins, line checks and totals, form field mapping, money parsing."""

from __future__ import annotations

from typing import Any

import pytest

from marketplace.quotes.baseline import AUDIT_KINDS
from marketplace.quotes.offers import check_lines, line_total
from marketplace.quotes.pages import _form_field, _minor
from marketplace.rules.audit_time import Family, table_family


def _line(kind: str = "stage1", **kw: Any) -> dict[str, Any]:
    return {
        "audit_kind": kind,
        "auditor_days": 1.5,
        "day_rate_minor": 100_00,
        "fees_minor": 0,
        "travel_minor": 0,
        **kw,
    }


def _full(**changes: Any) -> list[dict[str, Any]]:
    return [_line(k, **changes) for k in AUDIT_KINDS]


@pytest.mark.parametrize("family", [f.value for f in Family])
def test_families_with_a_table_map_to_themselves(family: str) -> None:
    assert table_family(family) == (Family(family), None)


@pytest.mark.parametrize(
    ("family", "table"),
    [("PIMS", Family.ISMS), ("BCMS", Family.QMS), ("CMS", Family.QMS), ("RTSMS", Family.QMS)],
)
def test_families_without_a_table_get_a_stand_in_and_say_so(family: str, table: Family) -> None:
    got, sentence = table_family(family)
    assert got is table
    assert sentence is not None
    assert family in sentence
    assert "indicative" in sentence


def test_unknown_family_falls_back_to_qms() -> None:
    assert table_family("XYZ")[0] is Family.QMS


def test_complete_lines_pass() -> None:
    assert check_lines(_full()) == []


@pytest.mark.parametrize("days", [0, -1, 0.0])
def test_zero_or_negative_days_are_refused(days: float) -> None:
    errors = check_lines(_full(auditor_days=days))
    assert {
        "field": "lines[0].auditor_days",
        "message": "Auditor days must be more than zero.",
    } in errors


def test_days_must_be_half_days() -> None:
    errors = check_lines(_full(auditor_days=1.25))
    assert errors[0]["field"] == "lines[0].auditor_days"


@pytest.mark.parametrize("field", ["day_rate_minor", "fees_minor", "travel_minor"])
def test_negative_money_is_refused(field: str) -> None:
    errors = check_lines(_full(**{field: -1}))
    assert {"field": f"lines[0].{field}", "message": "Money cannot be negative."} in errors


def test_missing_and_duplicate_kinds() -> None:
    errors = check_lines([*_full()[:3], _line("stage1")])
    fields = {e["field"] for e in errors}
    assert "lines[3].audit_kind" in fields
    assert "lines" in fields


def test_unknown_kind() -> None:
    errors = check_lines([*_full(), _line("special")])
    assert errors[0]["field"] == "lines[5].audit_kind"


def test_line_total_is_exact_in_minor_units() -> None:
    # 2.5 days x 333.33 = 833.325 -> 833.33 (half a cent rounds up), plus fees and travel.
    line = _line(auditor_days=2.5, day_rate_minor=33_333, fees_minor=100, travel_minor=1)
    assert line_total(line) == 83_333 + 101


@pytest.mark.parametrize(
    ("api", "form"),
    [
        ("lines[0].auditor_days", "stage1_days"),
        ("lines[2].day_rate_minor", "surveillance1_day_rate"),
        ("lines[4].travel_minor", "recertification_travel"),
        ("valid_until", "valid_until"),
    ],
)
def test_form_field_mapping(api: str, form: str) -> None:
    assert _form_field(api) == form


@pytest.mark.parametrize(
    ("raw", "currency", "minor"),
    [
        ("950", "GBP", 95_000),
        ("1,250.50", "EUR", 125_050),
        ("", "EUR", 0),
        ("-3", "EUR", -300),
        ("1000", "JPY", 1000),
        ("1.005", "EUR", None),
        ("abc", "EUR", None),
        ("1e999999999", "EUR", None),
        ("NaN", "EUR", None),
    ],
)
def test_minor_units_from_forms(raw: str, currency: str, minor: int | None) -> None:
    assert _minor(raw, currency) == minor
