"""CSV cells a spreadsheet will not run as formulas."""

from __future__ import annotations

import pytest

from marketplace.core.spreadsheets import csv_text, safe_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("plain", "plain"),
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        (42, "42"),
    ],
)
def test_safe_cell(value: object, expected: str) -> None:
    assert safe_cell(value) == expected


def test_csv_text_quotes_and_neutralises() -> None:
    text = csv_text(("a", "b"), [("=1", "x,y"), (None, "z")])
    assert text.splitlines() == ["a,b", '\'=1,"x,y"', ",z"]
