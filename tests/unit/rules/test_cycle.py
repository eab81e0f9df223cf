"""Unit tests for the ISO/IEC 17021-1 certification cycle rules."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from marketplace.rules.cycle import (
    IMPARTIALITY_YEARS,
    AuditKind,
    Window,
    WindowState,
    add_months,
    certificate_at_risk,
    consultancy_blocks,
    expiry_date,
    initial_windows,
    next_cycle_decision_anchor,
    restoration_deadline,
    stage1_is_stale,
    surveillance_and_recert_windows,
    suspension_limit,
    window_state,
)


def test_audit_kinds_are_the_trades_names() -> None:
    assert [k.value for k in AuditKind] == [
        "stage1",
        "stage2",
        "surveillance1",
        "surveillance2",
        "recertification",
        "special",
    ]


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2024, 8, 31), 6, date(2025, 2, 28)),
        (date(2023, 8, 31), 6, date(2024, 2, 29)),
        (date(2024, 5, 31), 1, date(2024, 6, 30)),
        (date(2024, 12, 31), 1, date(2025, 1, 31)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2024, 1, 15), -1, date(2023, 12, 15)),
        (date(2024, 1, 15), 0, date(2024, 1, 15)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


class TestWindow:
    window = Window(date(2025, 3, 1), date(2025, 5, 31))

    def test_contains_is_inclusive_at_both_ends(self) -> None:
        assert self.window.contains(date(2025, 3, 1))
        assert self.window.contains(date(2025, 5, 31))
        assert not self.window.contains(date(2025, 2, 28))
        assert not self.window.contains(date(2025, 6, 1))

    def test_contains_range_needs_the_whole_audit_inside(self) -> None:
        assert self.window.contains_range(date(2025, 5, 29), date(2025, 5, 31))
        assert not self.window.contains_range(date(2025, 5, 30), date(2025, 6, 1))
        assert not self.window.contains_range(date(2025, 2, 28), date(2025, 3, 2))

    def test_contains_range_rejects_an_audit_ending_before_it_starts(self) -> None:
        with pytest.raises(ValueError, match="before it starts"):
            self.window.contains_range(date(2025, 4, 2), date(2025, 4, 1))

    def test_window_cannot_be_due_before_it_opens(self) -> None:
        with pytest.raises(ValueError, match="before it opens"):
            Window(date(2025, 3, 2), date(2025, 3, 1))

    def test_window_is_frozen(self) -> None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            self.window.due = date(2026, 1, 1)  # type: ignore[misc]


class TestInitialWindows:
    def test_stage1_defaults_to_90_days_and_stage2_waits_for_stage1(self) -> None:
        windows = initial_windows(date(2025, 1, 31))
        assert windows == {AuditKind.stage1: Window(date(2025, 1, 31), date(2025, 5, 1))}

    def test_stage1_due_days_is_configurable(self) -> None:
        windows = initial_windows(date(2025, 1, 31), stage1_due_days=30)
        assert windows[AuditKind.stage1] == Window(date(2025, 1, 31), date(2025, 3, 2))

    def test_stage2_opens_the_day_after_stage1_and_is_due_6_months_later(self) -> None:
        windows = initial_windows(date(2025, 6, 2), stage1_end=date(2025, 8, 31))
        assert windows[AuditKind.stage1] == Window(date(2025, 6, 2), date(2025, 8, 31))
        assert windows[AuditKind.stage2] == Window(date(2025, 9, 1), date(2026, 2, 28))

    def test_stage2_due_lands_on_a_leap_day(self) -> None:
        windows = initial_windows(date(2023, 8, 1), stage1_end=date(2023, 8, 31))
        assert windows[AuditKind.stage2] == Window(date(2023, 9, 1), date(2024, 2, 29))

    def test_stage1_cannot_end_before_the_start(self) -> None:
        with pytest.raises(ValueError, match="before the start"):
            initial_windows(date(2025, 3, 1), stage1_end=date(2025, 2, 28))

    def test_negative_stage1_days_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="stage1_due_days"):
            initial_windows(date(2025, 3, 1), stage1_due_days=-1)


@pytest.mark.parametrize(
    ("stage1_end", "stage2_start", "stale"),
    [
        (date(2025, 3, 10), date(2025, 9, 10), False),
        (date(2025, 3, 10), date(2025, 9, 11), True),
        (date(2025, 8, 31), date(2026, 2, 28), False),
        (date(2025, 8, 31), date(2026, 3, 1), True),
        (date(2025, 3, 10), date(2025, 3, 11), False),
    ],
)
def test_stage1_goes_stale_after_6_months(
    stage1_end: date, stage2_start: date, stale: bool
) -> None:
    assert stage1_is_stale(stage1_end, stage2_start) is stale


@pytest.mark.parametrize(
    ("decision", "expiry"),
    [
        (date(2024, 3, 15), date(2027, 3, 14)),
        (date(2024, 2, 29), date(2027, 2, 27)),
        (date(2023, 3, 1), date(2026, 2, 28)),
        (date(2025, 3, 1), date(2028, 2, 29)),
        (date(2024, 1, 31), date(2027, 1, 30)),
    ],
)
def test_expiry_is_three_years_from_the_decision_less_a_day(decision: date, expiry: date) -> None:
    assert expiry_date(decision) == expiry


class TestSurveillanceAndRecertWindows:
    def test_leap_day_decision(self) -> None:
        assert surveillance_and_recert_windows(date(2024, 2, 29)) == {
            AuditKind.surveillance1: Window(date(2024, 11, 29), date(2025, 2, 28)),
            AuditKind.surveillance2: Window(date(2025, 11, 29), date(2026, 2, 28)),
            AuditKind.recertification: Window(date(2026, 8, 27), date(2027, 1, 27)),
        }

    def test_month_end_decision_on_may_31(self) -> None:
        assert surveillance_and_recert_windows(date(2024, 5, 31)) == {
            AuditKind.surveillance1: Window(date(2025, 2, 28), date(2025, 5, 31)),
            AuditKind.surveillance2: Window(date(2026, 2, 28), date(2026, 5, 31)),
            AuditKind.recertification: Window(date(2026, 11, 30), date(2027, 4, 30)),
        }

    def test_month_end_decision_on_aug_31(self) -> None:
        assert surveillance_and_recert_windows(date(2024, 8, 31)) == {
            AuditKind.surveillance1: Window(date(2025, 5, 31), date(2025, 8, 31)),
            AuditKind.surveillance2: Window(date(2026, 5, 31), date(2026, 8, 31)),
            AuditKind.recertification: Window(date(2027, 2, 28), date(2027, 7, 30)),
        }

    def test_every_decision_day_of_a_leap_and_a_common_year_keeps_the_rules(self) -> None:
        day = date(2023, 1, 1)
        while day <= date(2024, 12, 31):
            windows = surveillance_and_recert_windows(day)
            first = windows[AuditKind.surveillance1]
            second = windows[AuditKind.surveillance2]
            recert = windows[AuditKind.recertification]
            # "no later than 12 months after the decision": the anniversary, or the month's
            # last day when the anniversary does not exist, never a day past it
            assert (first.due.year, first.due.month) == (day.year + 1, day.month)
            assert first.due.day <= day.day
            assert (second.due.year, second.due.month) == (day.year + 2, day.month)
            assert second.due.day <= day.day
            assert first.due < second.opens
            assert second.due < recert.opens
            assert recert.due < expiry_date(day)
            day += timedelta(days=1)


class TestNextCycleDecisionAnchor:
    def test_recertified_before_expiry_continues_from_the_old_expiry(self) -> None:
        anchor = next_cycle_decision_anchor(date(2027, 3, 14), date(2027, 2, 1))
        assert anchor == date(2027, 3, 15)
        assert expiry_date(anchor) == date(2030, 3, 14)

    def test_decided_on_the_expiry_day_still_continues(self) -> None:
        assert next_cycle_decision_anchor(date(2027, 3, 14), date(2027, 3, 14)) == date(2027, 3, 15)

    def test_leap_day_cycle_keeps_its_expiry_day(self) -> None:
        first_expiry = expiry_date(date(2024, 2, 29))
        anchor = next_cycle_decision_anchor(first_expiry, date(2027, 1, 20))
        assert expiry_date(anchor) == date(2030, 2, 27)

    def test_restored_within_6_months_keeps_the_prior_cycle(self) -> None:
        assert next_cycle_decision_anchor(date(2027, 3, 14), date(2027, 9, 14)) == date(2027, 3, 15)

    def test_after_the_restoration_deadline_a_fresh_cycle_starts(self) -> None:
        assert next_cycle_decision_anchor(date(2027, 3, 14), date(2027, 9, 15)) == date(2027, 9, 15)


class TestWindowState:
    window = Window(date(2025, 3, 1), date(2025, 5, 31))

    @pytest.mark.parametrize(
        ("today", "state"),
        [
            (date(2025, 2, 28), WindowState.not_open),
            (date(2025, 3, 1), WindowState.open),
            (date(2025, 4, 30), WindowState.open),
            (date(2025, 5, 1), WindowState.due_soon),
            (date(2025, 5, 31), WindowState.due_soon),
            (date(2025, 6, 1), WindowState.overdue),
        ],
    )
    def test_state_by_day(self, today: date, state: WindowState) -> None:
        assert window_state(self.window, today) is state

    @pytest.mark.parametrize("today", [date(2025, 2, 1), date(2025, 4, 1), date(2025, 7, 1)])
    def test_a_completed_audit_is_done_whenever_it_happened(self, today: date) -> None:
        assert window_state(self.window, today, completed_on=date(2025, 6, 15)) is (
            WindowState.done
        )

    def test_due_soon_days_is_configurable(self) -> None:
        assert window_state(self.window, date(2025, 5, 30), due_soon_days=0) is WindowState.open
        assert window_state(self.window, date(2025, 5, 31), due_soon_days=0) is (
            WindowState.due_soon
        )
        assert window_state(self.window, date(2025, 3, 1), due_soon_days=91) is (
            WindowState.due_soon
        )

    def test_negative_due_soon_days_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="due_soon_days"):
            window_state(self.window, date(2025, 4, 1), due_soon_days=-1)


@pytest.mark.parametrize(
    ("today", "first_done", "second_done", "at_risk"),
    [
        (date(2025, 2, 28), False, False, False),
        (date(2025, 3, 1), False, False, True),
        (date(2025, 3, 1), True, False, False),
        (date(2026, 2, 28), True, False, False),
        (date(2026, 3, 1), True, False, True),
        (date(2026, 3, 1), False, True, True),
        (date(2026, 3, 1), True, True, False),
    ],
)
def test_certificate_at_risk_when_a_surveillance_window_is_missed(
    today: date, first_done: bool, second_done: bool, at_risk: bool
) -> None:
    assert certificate_at_risk(date(2024, 2, 29), today, first_done, second_done) is at_risk


@pytest.mark.parametrize(
    ("expiry", "deadline"),
    [
        (date(2027, 3, 14), date(2027, 9, 14)),
        (date(2027, 8, 31), date(2028, 2, 29)),
        (date(2026, 8, 31), date(2027, 2, 28)),
    ],
)
def test_restoration_deadline_is_6_months_after_expiry(expiry: date, deadline: date) -> None:
    assert restoration_deadline(expiry) == deadline


@pytest.mark.parametrize(
    ("suspended_on", "limit"),
    [
        (date(2025, 1, 31), date(2025, 7, 31)),
        (date(2024, 8, 31), date(2025, 2, 28)),
    ],
)
def test_suspension_limit_is_6_months(suspended_on: date, limit: date) -> None:
    assert suspension_limit(suspended_on) == limit


class TestConsultancyBlocks:
    def test_impartiality_period_is_two_years(self) -> None:
        assert IMPARTIALITY_YEARS == 2

    def test_exactly_two_years_later_is_allowed(self) -> None:
        assert not consultancy_blocks(date(2023, 5, 10), date(2025, 5, 10))

    def test_a_day_short_of_two_years_blocks(self) -> None:
        assert consultancy_blocks(date(2023, 5, 10), date(2025, 5, 9))

    def test_leap_day_end_clears_on_feb_28(self) -> None:
        assert not consultancy_blocks(date(2024, 2, 29), date(2026, 2, 28))
        assert consultancy_blocks(date(2024, 2, 29), date(2026, 2, 27))

    def test_consultancy_still_running_blocks(self) -> None:
        assert consultancy_blocks(date(2025, 6, 30), date(2025, 6, 1))
