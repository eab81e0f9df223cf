"""ISO/IEC 17021-1:2015 clause 9 certification cycle: audit windows, states and time limits."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

# Platform defaults: the standard leaves these to the body, so they are ours to choose and
# each body may override the ones that take a parameter.
STAGE1_DUE_DAYS = 90
SURVEILLANCE_LEAD_MONTHS = 3
RECERT_OPENS_MONTHS_BEFORE_EXPIRY = 6
RECERT_DUE_MONTHS_BEFORE_EXPIRY = 1
DUE_SOON_DAYS = 30

STAGE1_VALID_MONTHS = 6
CYCLE_MONTHS = 36
RESTORATION_MONTHS = 6
SUSPENSION_MONTHS = 6
IMPARTIALITY_YEARS = 2


class AuditKind(StrEnum):
    stage1 = "stage1"
    stage2 = "stage2"
    surveillance1 = "surveillance1"
    surveillance2 = "surveillance2"
    recertification = "recertification"
    special = "special"


class WindowState(StrEnum):
    not_open = "not_open"
    open = "open"
    due_soon = "due_soon"
    overdue = "overdue"
    done = "done"


@dataclass(frozen=True)
class Window:
    """The dates an audit may be held on; both ends are inclusive."""

    opens: date
    due: date

    def __post_init__(self) -> None:
        if self.due < self.opens:
            raise ValueError(f"window due {self.due} is before it opens {self.opens}")

    def contains(self, d: date) -> bool:
        """True when ``d`` falls inside the window, ends included."""
        return self.opens <= d <= self.due

    def contains_range(self, start: date, end: date) -> bool:
        """True when a whole audit, first day to last day, falls inside the window."""
        if end < start:
            raise ValueError(f"audit ends {end} before it starts {start}")
        return self.opens <= start and end <= self.due


def add_months(d: date, months: int) -> date:
    """Move ``d`` by whole calendar months, clamping to the month's last day.

    Jan 31 + 1 month is Feb 28 (Feb 29 in a leap year) and Feb 29 + 12 months is Feb 28:
    clamping never lands past the month the rule names, so a deadline is never late.
    """
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def initial_windows(
    start: date, stage1_due_days: int = STAGE1_DUE_DAYS, stage1_end: date | None = None
) -> dict[AuditKind, Window]:
    """Stage 1 and stage 2 windows of an initial certification (ISO/IEC 17021-1:2015 9.3.1).

    Stage 1 opens at ``start`` (the engagement start or the client's desired start) and is due
    ``stage1_due_days`` later; 90 days is a platform default each body can change, not a rule
    of the standard. Stage 2 opens the day after stage 1 ended and is due 6 calendar months
    after it: the standard leaves the interval to the body (9.3.1.2.4) and beyond 6 months the
    platform treats stage 1 as stale (see ``stage1_is_stale``). Until stage 1 has ended there
    is no stage 2 window, so the result holds ``AuditKind.stage2`` only when ``stage1_end`` is
    given.
    """
    if stage1_due_days < 0:
        raise ValueError("stage1_due_days must not be negative")
    windows = {AuditKind.stage1: Window(start, start + timedelta(days=stage1_due_days))}
    if stage1_end is not None:
        if stage1_end < start:
            raise ValueError(f"stage 1 cannot end {stage1_end} before the start {start}")
        windows[AuditKind.stage2] = Window(
            stage1_end + timedelta(days=1), add_months(stage1_end, STAGE1_VALID_MONTHS)
        )
    return windows


def stage1_is_stale(stage1_end: date, stage2_start: date) -> bool:
    """True when stage 2 starts more than 6 calendar months after stage 1 ended.

    ISO/IEC 17021-1:2015 9.3.1.2.4 has the body judge whether stage 1 is still valid; the
    platform's default answer (from the reference rules) is that after 6 months it must be
    repeated unless the body overrides. Exactly 6 months is still valid.
    """
    return stage2_start > add_months(stage1_end, STAGE1_VALID_MONTHS)


def expiry_date(decision: date) -> date:
    """Last day a certificate is valid: 3 years from the certification decision date.

    ISO/IEC 17021-1:2015 9.1.3.2 starts the three-year cycle on the decision date. The
    platform counts it as ``add_months(decision, 36) - 1 day``: a decision on 2024-03-15
    expires on 2027-03-14. A decision on Feb 29 clamps to Feb 28 before the day is taken off
    (2024-02-29 expires 2027-02-27), so validity is never overstated.
    """
    return add_months(decision, CYCLE_MONTHS) - timedelta(days=1)


def surveillance_and_recert_windows(decision_date: date) -> dict[AuditKind, Window]:
    """Surveillance 1, surveillance 2 and recertification windows of one certification cycle.

    ISO/IEC 17021-1:2015 9.1.3: the first surveillance no later than 12 months after the
    certification decision date, the second in year 2 (due 24 months after the decision),
    and the recertification in year 3, completed with its decision before expiry (9.6.3).
    Platform defaults, not rules of the standard: each surveillance window opens 3 months
    before it is due (decision + 9 and + 21 months), and the recertification audit window runs
    from 6 months to 1 month before expiry so the body has a month left for its decision.
    """
    expiry = expiry_date(decision_date)
    return {
        AuditKind.surveillance1: Window(
            add_months(decision_date, 12 - SURVEILLANCE_LEAD_MONTHS),
            add_months(decision_date, 12),
        ),
        AuditKind.surveillance2: Window(
            add_months(decision_date, 24 - SURVEILLANCE_LEAD_MONTHS),
            add_months(decision_date, 24),
        ),
        AuditKind.recertification: Window(
            add_months(expiry, -RECERT_OPENS_MONTHS_BEFORE_EXPIRY),
            add_months(expiry, -RECERT_DUE_MONTHS_BEFORE_EXPIRY),
        ),
    }


def next_cycle_decision_anchor(previous_expiry: date, recert_decision: date) -> date:
    """Date the next cycle's windows and expiry are computed from after a recertification.

    ISO/IEC 17021-1:2015 9.6.3.2: when recertification is completed before expiry, the new
    expiry can continue from the old one; a certificate restored within 6 months after expiry
    also keeps the prior cycle's dates. In both cases the anchor is the day after the previous
    expiry, so ``expiry_date(anchor)`` is the previous expiry 3 years on and surveillance keeps
    its anniversary. Past the restoration deadline the old cycle is gone (at least a stage 2
    was needed) and the new decision starts a fresh cycle.
    """
    if recert_decision > restoration_deadline(previous_expiry):
        return recert_decision
    return previous_expiry + timedelta(days=1)


def window_state(
    window: Window,
    today: date,
    completed_on: date | None = None,
    due_soon_days: int = DUE_SOON_DAYS,
) -> WindowState:
    """Where an audit stands against its window (ISO/IEC 17021-1:2015 9.1.3 frequencies).

    A completed audit is ``done`` whenever it happened; otherwise it is ``not_open`` before the
    window, ``overdue`` after its due date, ``due_soon`` within ``due_soon_days`` of the due
    date (30 days is a platform default) and ``open`` in between.
    """
    if due_soon_days < 0:
        raise ValueError("due_soon_days must not be negative")
    if completed_on is not None:
        return WindowState.done
    if today < window.opens:
        return WindowState.not_open
    if today > window.due:
        return WindowState.overdue
    if (window.due - today).days <= due_soon_days:
        return WindowState.due_soon
    return WindowState.open


def certificate_at_risk(
    decision_date: date, today: date, surveillance1_done: bool, surveillance2_done: bool
) -> bool:
    """True when a surveillance audit is past its due date and not done.

    A client that does not allow surveillance at the required frequency (ISO/IEC 17021-1:2015
    9.1.3) is a ground for suspension (9.6.5), so a missed window puts the certificate at risk.
    """
    windows = surveillance_and_recert_windows(decision_date)
    missed_first = not surveillance1_done and today > windows[AuditKind.surveillance1].due
    missed_second = not surveillance2_done and today > windows[AuditKind.surveillance2].due
    return missed_first or missed_second


def restoration_deadline(expiry: date) -> date:
    """Last day an expired certificate can be restored (ISO/IEC 17021-1:2015 9.6.3.2).

    Restoration is possible within 6 months after expiry if the outstanding recertification
    activities are completed; after that at least a stage 2 is needed.
    """
    return add_months(expiry, RESTORATION_MONTHS)


def suspension_limit(suspended_on: date) -> date:
    """Date by which a suspension should be resolved (ISO/IEC 17021-1:2015 9.6.5).

    A suspension normally does not exceed 6 months; unresolved, the certificate is withdrawn
    or its scope reduced.
    """
    return add_months(suspended_on, SUSPENSION_MONTHS)


def consultancy_blocks(ended_on: date, audit_start: date) -> bool:
    """True when consultancy for the client ended less than 2 years before the audit starts.

    ISO/IEC 17021-1:2015 5.2: personnel who gave the client management system consultancy must
    not audit it within 2 years of the consultancy's end. Exactly 2 years later is allowed; an
    end on Feb 29 clears on Feb 28 two years on.
    """
    return audit_start < add_months(ended_on, 12 * IMPARTIALITY_YEARS)
