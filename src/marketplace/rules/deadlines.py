"""Finding grades and the deadlines they set (ISO/IEC 17021-1:2015 9.4.9, 9.4.10 and 9.5.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from marketplace.rules.cycle import add_months

STAGE2_REPEAT_MONTHS = 6


class Grade(StrEnum):
    major = "major"
    minor = "minor"
    observation = "observation"
    ofi = "ofi"


def is_nonconformity(grade: Grade) -> bool:
    """True for major and minor nonconformities (ISO/IEC 17021-1:2015 3.12 and 3.13).

    Observations and opportunities for improvement are not nonconformities: the client need
    not respond to them.
    """
    return grade in (Grade.major, Grade.minor)


@dataclass(frozen=True)
class DeadlinePolicy:
    """A body's response times in calendar days from the day a finding is issued.

    ISO/IEC 17021-1:2015 9.4.9 only asks for "a defined time"; 90 days to resolve a major and
    30 days to submit a minor's action plan are common body rules and the platform defaults.
    """

    major_response_days: int = 90
    minor_plan_days: int = 30

    def __post_init__(self) -> None:
        if self.major_response_days < 1 or self.minor_plan_days < 1:
            raise ValueError("deadline policy days must be at least 1")


DEFAULT_POLICY = DeadlinePolicy()


def due_date(grade: Grade, issued_on: date, policy: DeadlinePolicy = DEFAULT_POLICY) -> date | None:
    """When the client's response to a finding is due, or None when no response is required.

    ISO/IEC 17021-1:2015 9.4.9: the client analyses the cause and describes correction and
    corrective action within a time the body defines. A major's correction and corrective
    action must be verified before the certification decision (9.4.10, 9.5.3); for a minor an
    accepted action plan is enough. Observations and OFIs need no response.
    """
    if grade is Grade.major:
        return issued_on + timedelta(days=policy.major_response_days)
    if grade is Grade.minor:
        return issued_on + timedelta(days=policy.minor_plan_days)
    return None


def stage2_repeat_deadline(stage2_last_day: date) -> date:
    """Last day a major from stage 2 can be verified before stage 2 must be repeated.

    ISO/IEC 17021-1:2015 9.5.3.2: if the body cannot verify correction and corrective action
    of any major nonconformity within 6 months after the last day of stage 2, it conducts
    another stage 2 before recommending certification.
    """
    return add_months(stage2_last_day, STAGE2_REPEAT_MONTHS)


def is_overdue(due: date | None, today: date, closed: bool) -> bool:
    """True when an open finding is past its due date (ISO/IEC 17021-1:2015 9.4.9).

    The due date itself is still on time; a finding with no due date is never overdue. An
    overdue minor may be escalated to a major by the body.
    """
    return not closed and due is not None and today > due
