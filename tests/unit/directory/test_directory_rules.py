"""Pure directory rules: derived accreditation expiry, rating breakdown, filter and id parsing."""

from __future__ import annotations

import datetime as dt

import pytest

from marketplace.core.errors import Invalid
from marketplace.directory.search import parse_ids
from marketplace.directory.services import accreditation_status, rating_breakdown

TODAY = dt.date(2026, 11, 25)


@pytest.mark.parametrize(
    ("status", "valid_until", "expected"),
    [
        ("verified", TODAY, "verified"),
        ("verified", TODAY - dt.timedelta(days=1), "expired"),
        ("pending", TODAY - dt.timedelta(days=1), "expired"),
        ("pending", TODAY + dt.timedelta(days=1), "pending"),
        ("suspended", TODAY - dt.timedelta(days=1), "suspended"),
        ("rejected", TODAY + dt.timedelta(days=1), "rejected"),
    ],
)
def test_accreditation_status_is_derived_from_the_date(
    status: str, valid_until: dt.date, expected: str
) -> None:
    assert accreditation_status(status, valid_until, TODAY) == expected


def test_rating_breakdown_without_reviews_is_the_prior() -> None:
    out = rating_breakdown(None, prior=4.2)
    assert out["review_count"] == 0
    assert out["rating"] is None
    assert out["bayesian"] == 4.2
    assert out["distribution"] == {"5": 0, "4": 0, "3": 0, "2": 0, "1": 0}


def test_rating_breakdown_shrinks_a_single_review() -> None:
    row = {
        "review_count": 1,
        "rating_sum": 5,
        "stars_1": 0,
        "stars_2": 0,
        "stars_3": 0,
        "stars_4": 0,
        "stars_5": 1,
        "competence_sum": 5,
        "communication_sum": 4,
        "value_sum": 3,
        "punctuality_sum": 5,
    }
    out = rating_breakdown(row, prior=4.0)
    assert out["rating"] == 5.0
    assert out["communication"] == 4.0
    assert out["bayesian"] == pytest.approx((10 * 4.0 + 5) / 11, abs=0.001)


@pytest.mark.parametrize("raw", [None, "", "not-a-uuid", "6f1c5f6e-9f5e-4a53-9a53-000000000001"])
def test_compare_needs_two_to_four_ids(raw: str | None) -> None:
    with pytest.raises(Invalid):
        parse_ids(raw)


def test_compare_ids_are_deduplicated_in_order() -> None:
    a, b = "6f1c5f6e-9f5e-4a53-9a53-000000000001", "6f1c5f6e-9f5e-4a53-9a53-000000000002"
    assert [str(i) for i in parse_ids(f"{b}, {a},{b}")] == [b, a]
