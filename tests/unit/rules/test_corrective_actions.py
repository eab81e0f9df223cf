"""Unit tests for the corrective action and audit report transition tables."""

from __future__ import annotations

import pytest

from marketplace.rules.corrective_actions import (
    EDITABLE,
    REPORT_REFUSALS,
    STATUSES,
    TRANSITIONS,
    ReportStep,
    Status,
    Step,
    draft_refusal,
    escalation_refusal,
    next_report_status,
    next_status,
    refusal,
    resolved,
)


def test_statuses_in_workflow_order() -> None:
    assert STATUSES == ("open", "submitted", "accepted", "rejected", "closed")


def test_answer_is_editable_while_open_or_after_a_rejection() -> None:
    assert frozenset({"open", "rejected"}) == EDITABLE


@pytest.mark.parametrize(
    ("status", "step", "after"),
    [
        ("open", Step.answer, "open"),
        ("rejected", Step.answer, "rejected"),
        ("open", Step.give_evidence, "open"),
        ("open", Step.submit, "submitted"),
        ("rejected", Step.submit, "submitted"),
        ("submitted", Step.accept, "accepted"),
        ("submitted", Step.reject, "rejected"),
        ("accepted", Step.verify, "closed"),
        ("accepted", Step.not_effective, "rejected"),
        ("open", Step.withdraw, "closed"),
        ("accepted", Step.withdraw, "closed"),
    ],
)
def test_allowed_steps(status: str, step: Step, after: str) -> None:
    assert next_status(status, step) == after


@pytest.mark.parametrize(
    ("status", "step", "code", "message"),
    [
        ("submitted", Step.answer, "not_editable", "A corrective action that is submitted cannot be edited."),
        ("closed", Step.give_evidence, "not_editable", "A corrective action that is closed cannot be given evidence."),
        ("accepted", Step.submit, "not_submittable", "A corrective action that is accepted cannot be submitted."),
        ("open", Step.accept, "not_submitted", "A corrective action that is open cannot be reviewed."),
        ("rejected", Step.reject, "not_submitted", "A corrective action that is rejected cannot be reviewed."),
        ("submitted", Step.verify, "not_accepted", "A corrective action that is submitted cannot be verified."),
        ("open", Step.not_effective, "not_accepted", "A corrective action that is open cannot be verified."),
    ],
)  # fmt: skip
def test_refused_steps_keep_their_codes(status: str, step: Step, code: str, message: str) -> None:
    assert next_status(status, step) is None
    refused = refusal(status, step)
    assert (refused.code, refused.message) == (code, message)


def test_closed_is_final() -> None:
    assert all(next_status("closed", step) is None for step in Step)


def test_every_step_has_a_refusal() -> None:
    for status in Status:
        for step in Step:
            if (status, step) not in TRANSITIONS:
                assert refusal(status.value, step).code


def test_unknown_status_is_refused() -> None:
    assert next_status("lost", Step.submit) is None


@pytest.mark.parametrize(
    ("grade", "status", "expected"),
    [
        ("minor", "submitted", True),
        ("minor", "accepted", True),
        ("minor", "open", False),
        ("major", "accepted", False),
        ("major", "closed", True),
    ],
)
def test_resolved_by_grade(grade: str, status: str, expected: bool) -> None:
    assert resolved(grade, status) is expected


def test_only_an_overdue_minor_escalates() -> None:
    assert escalation_refusal("minor", True) is None
    major = escalation_refusal("major", True)
    assert major is not None
    assert major.code == "not_minor"
    on_time = escalation_refusal("minor", False)
    assert on_time is not None
    assert on_time.code == "not_overdue"


@pytest.mark.parametrize(
    ("status", "step", "after"),
    [
        ("draft", ReportStep.edit, "draft"),
        ("draft", ReportStep.issue, "issued"),
        ("issued", ReportStep.amend, "issued"),
        ("issued", ReportStep.supersede, "amended"),
        ("issued", ReportStep.edit, None),
        ("issued", ReportStep.issue, None),
        ("draft", ReportStep.amend, None),
        ("amended", ReportStep.amend, None),
    ],
)
def test_report_transitions(status: str, step: ReportStep, after: str | None) -> None:
    assert next_report_status(status, step) == after


def test_report_refusal_codes() -> None:
    assert REPORT_REFUSALS[ReportStep.edit].code == "report_frozen"
    assert REPORT_REFUSALS[ReportStep.issue].code == "report_frozen"
    assert REPORT_REFUSALS[ReportStep.amend].code == "not_issued"


def test_one_first_draft_per_audit() -> None:
    assert draft_refusal([]) is None
    assert draft_refusal(["draft"]) == draft_refusal(["issued", "draft"])
    first = draft_refusal(["draft"])
    assert first is not None
    assert first.code == "report_exists"
    issued = draft_refusal(["issued", "amended"])
    assert issued is not None
    assert issued.code == "report_issued"
