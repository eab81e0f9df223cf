"""Unit tests for finding grades and their response deadlines."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from marketplace.rules.deadlines import (
    DeadlinePolicy,
    Grade,
    due_date,
    is_nonconformity,
    is_overdue,
    stage2_repeat_deadline,
)


@pytest.mark.parametrize(
    ("grade", "expected"),
    [
        (Grade.major, True),
        (Grade.minor, True),
        (Grade.observation, False),
        (Grade.ofi, False),
    ],
)
def test_only_majors_and_minors_are_nonconformities(grade: Grade, expected: bool) -> None:
    assert is_nonconformity(grade) is expected


def test_default_policy_is_90_and_30_days() -> None:
    policy = DeadlinePolicy()
    assert (policy.major_response_days, policy.minor_plan_days) == (90, 30)


@pytest.mark.parametrize(
    ("grade", "issued_on", "expected"),
    [
        (Grade.major, date(2025, 1, 31), date(2025, 5, 1)),
        (Grade.minor, date(2025, 1, 31), date(2025, 3, 2)),
        (Grade.minor, date(2024, 1, 31), date(2024, 3, 1)),
        (Grade.major, date(2024, 12, 1), date(2025, 3, 1)),
        (Grade.observation, date(2025, 1, 31), None),
        (Grade.ofi, date(2025, 1, 31), None),
    ],
)
def test_due_date_per_grade_with_the_default_policy(
    grade: Grade, issued_on: date, expected: date | None
) -> None:
    assert due_date(grade, issued_on) == expected


def test_due_date_follows_the_bodys_policy() -> None:
    policy = DeadlinePolicy(major_response_days=60, minor_plan_days=14)
    assert due_date(Grade.major, date(2025, 1, 31), policy) == date(2025, 4, 1)
    assert due_date(Grade.minor, date(2025, 1, 31), policy) == date(2025, 2, 14)
    assert due_date(Grade.ofi, date(2025, 1, 31), policy) is None


@pytest.mark.parametrize(("major", "minor"), [(0, 30), (90, 0), (-1, 30)])
def test_policy_days_must_be_positive(major: int, minor: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        DeadlinePolicy(major_response_days=major, minor_plan_days=minor)


def test_policy_is_frozen() -> None:
    policy = DeadlinePolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.minor_plan_days = 7  # type: ignore[misc]


@pytest.mark.parametrize(
    ("stage2_last_day", "deadline"),
    [
        (date(2025, 3, 10), date(2025, 9, 10)),
        (date(2024, 8, 31), date(2025, 2, 28)),
        (date(2023, 8, 31), date(2024, 2, 29)),
        (date(2025, 1, 31), date(2025, 7, 31)),
    ],
)
def test_stage2_is_repeated_after_6_months(stage2_last_day: date, deadline: date) -> None:
    assert stage2_repeat_deadline(stage2_last_day) == deadline


@pytest.mark.parametrize(
    ("due", "today", "closed", "overdue"),
    [
        (date(2025, 3, 2), date(2025, 3, 1), False, False),
        (date(2025, 3, 2), date(2025, 3, 2), False, False),
        (date(2025, 3, 2), date(2025, 3, 3), False, True),
        (date(2025, 3, 2), date(2025, 3, 3), True, False),
        (None, date(2030, 1, 1), False, False),
    ],
)
def test_is_overdue(due: date | None, today: date, closed: bool, overdue: bool) -> None:
    assert is_overdue(due, today, closed) is overdue
