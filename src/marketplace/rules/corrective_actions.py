"""Status transitions of corrective actions and audit reports, each with the refusal it answers.

ISO/IEC 17021-1:2015 9.4.9: the client analyses the cause of each nonconformity and describes
its correction and corrective action within a time the body defines; 9.4.10: the body reviews
them and decides whether they are acceptable, and verifies their effectiveness (for a major
before the certification decision, 9.5.3). The reference README's finding-grade rules: a minor
needs an accepted plan, a major a verified correction; an overdue minor may be escalated to a
major. 9.4.8 and 8.4: a report, once issued, is changed only by an amendment that supersedes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    open = "open"
    submitted = "submitted"
    accepted = "accepted"
    rejected = "rejected"
    closed = "closed"


STATUSES = tuple(s.value for s in Status)


class Step(StrEnum):
    """What someone does to a corrective action."""

    answer = "answer"  # the client edits owner, correction, root cause, plan, target date
    give_evidence = "give_evidence"
    submit = "submit"  # the client sends the complete answer to the body (9.4.9)
    accept = "accept"  # the body's review (9.4.10)
    reject = "reject"
    verify = "verify"  # the body finds the action effective (9.4.10, 9.5.3)
    not_effective = "not_effective"
    withdraw = "withdraw"  # an amended report removed or regraded the finding


# (status, step) -> the status after it. A pair not listed is refused.
TRANSITIONS: dict[tuple[Status, Step], Status] = {
    (Status.open, Step.answer): Status.open,
    (Status.rejected, Step.answer): Status.rejected,
    (Status.open, Step.give_evidence): Status.open,
    (Status.rejected, Step.give_evidence): Status.rejected,
    (Status.open, Step.submit): Status.submitted,
    (Status.rejected, Step.submit): Status.submitted,
    (Status.submitted, Step.accept): Status.accepted,
    (Status.submitted, Step.reject): Status.rejected,
    (Status.accepted, Step.verify): Status.closed,
    (Status.accepted, Step.not_effective): Status.rejected,
    **{(s, Step.withdraw): Status.closed for s in Status if s is not Status.closed},
}


@dataclass(frozen=True)
class Refusal:
    """The 409 a refused step answers: its machine code and the sentence shown."""

    code: str
    message: str


@dataclass(frozen=True)
class _Doing:
    code: str
    doing: str  # ends "A corrective action that is <status> cannot be <doing>."


_REFUSED: dict[Step, _Doing] = {
    Step.answer: _Doing("not_editable", "edited"),
    Step.give_evidence: _Doing("not_editable", "given evidence"),
    Step.submit: _Doing("not_submittable", "submitted"),
    Step.accept: _Doing("not_submitted", "reviewed"),
    Step.reject: _Doing("not_submitted", "reviewed"),
    Step.verify: _Doing("not_accepted", "verified"),
    Step.not_effective: _Doing("not_accepted", "verified"),
    Step.withdraw: _Doing("already_closed", "withdrawn"),
}

# Where the client may still change the answer: before it is submitted, or after a rejection.
EDITABLE = frozenset(s.value for (s, step) in TRANSITIONS if step is Step.answer)


def next_status(status: str, step: Step) -> str | None:
    """The status `step` leads to from `status`, or None when the step is not allowed there."""
    if status not in STATUSES:
        return None
    after = TRANSITIONS.get((Status(status), step))
    return None if after is None else after.value


def refusal(status: str, step: Step) -> Refusal:
    """Why `step` is refused from `status` (the codes and sentences the API has always given)."""
    doing = _REFUSED[step]
    return Refusal(doing.code, f"A corrective action that is {status} cannot be {doing.doing}.")


# A response is "in" once these states are reached: a minor needs its plan (submitted or
# accepted), a major its verified correction (9.4.9, 9.4.10; reference README).
RESOLVED: dict[str, frozenset[str]] = {
    "major": frozenset({"closed"}),
    "minor": frozenset({"submitted", "accepted", "closed"}),
}


def resolved(grade: str, status: str) -> bool:
    """True once the action has the response its grade needs (no longer overdue-able)."""
    return status in RESOLVED.get(grade, frozenset({"closed"}))


def escalation_refusal(grade: str, overdue: bool) -> Refusal | None:
    """Only an overdue minor may be escalated to a major (reference README, finding grades)."""
    if grade != "minor":
        return Refusal("not_minor", "Only a minor nonconformity can be escalated.")
    if not overdue:
        return Refusal("not_overdue", "Only an overdue minor nonconformity can be escalated.")
    return None


# --- audit reports -----------------------------------------------------------------------------


class ReportStatus(StrEnum):
    draft = "draft"
    issued = "issued"
    amended = "amended"  # superseded by an issued amendment, kept on record


class ReportStep(StrEnum):
    edit = "edit"
    issue = "issue"
    amend = "amend"  # start an amendment: a new draft revision; this one stays issued
    supersede = "supersede"  # the amendment is issued and replaces this revision


REPORT_TRANSITIONS: dict[tuple[ReportStatus, ReportStep], ReportStatus] = {
    (ReportStatus.draft, ReportStep.edit): ReportStatus.draft,
    (ReportStatus.draft, ReportStep.issue): ReportStatus.issued,
    (ReportStatus.issued, ReportStep.amend): ReportStatus.issued,
    (ReportStatus.issued, ReportStep.supersede): ReportStatus.amended,
}

REPORT_REFUSALS: dict[ReportStep, Refusal] = {
    ReportStep.edit: Refusal("report_frozen", "An issued report is frozen; amend it to change it."),
    ReportStep.issue: Refusal("report_frozen", "This report is already issued."),
    ReportStep.amend: Refusal("not_issued", "Only the issued revision of a report can be amended."),
    ReportStep.supersede: Refusal("not_issued", "Only an issued revision can be superseded."),
}


def next_report_status(status: str, step: ReportStep) -> str | None:
    """The revision's status after `step`, or None when the step is not allowed there."""
    if status not in tuple(ReportStatus):
        return None
    after = REPORT_TRANSITIONS.get((ReportStatus(status), step))
    return None if after is None else after.value


def draft_refusal(existing: list[str]) -> Refusal | None:
    """An audit has one report, changed only by amendment: a second first draft is refused."""
    if not existing:
        return None
    if ReportStatus.draft in existing:
        return Refusal("report_exists", "This audit already has a draft report.")
    return Refusal("report_issued", "This audit's report is issued; amend it to change it.")
