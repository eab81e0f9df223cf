"""Unit tests for the certification decision gate and the certificate status table."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from marketplace.rules.certification import (
    TRANSITIONS,
    CertificateAction,
    GateFacts,
    decision_input_refusal,
    decision_refusal,
    next_status,
)
from marketplace.rules.refusal import Refusal

TODAY = date(2026, 3, 10)
READY = GateFacts(
    decision="grant",
    decided_on=TODAY,
    already_decided=False,
    last_day=date(2026, 3, 1),
    report_issued=True,
    open_majors=0,
    open_minors=0,
    late_majors=0,
    stage2_expired=False,
)


def test_a_ready_cycle_may_be_granted_and_refused() -> None:
    assert decision_refusal(READY) is None
    assert decision_refusal(dataclasses.replace(READY, decision="refuse")) is None


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"already_decided": True}, "already_decided"),
        ({"last_day": None}, "stage2_not_completed"),
        ({"report_issued": False}, "report_not_issued"),
        ({"open_majors": 2}, "open_major_nonconformities"),
        ({"open_minors": 1}, "open_minor_nonconformities"),
        ({"late_majors": 1}, "stage2_expired"),
        ({"stage2_expired": True}, "stage2_expired"),
    ],
)
def test_each_unmet_condition_refuses_a_grant_with_its_code(
    changes: dict[str, object], code: str
) -> None:
    refusal = decision_refusal(dataclasses.replace(READY, **changes))  # type: ignore[arg-type]
    assert refusal is not None
    assert refusal.code == code
    assert refusal.field is None


def test_counts_and_dates_are_in_the_sentences() -> None:
    majors = decision_refusal(dataclasses.replace(READY, open_majors=2))
    assert majors is not None
    assert majors.message.startswith("2 major nonconformities")
    late = decision_refusal(dataclasses.replace(READY, late_majors=1))
    assert late is not None
    assert "2026-03-01" in late.message


def test_an_override_reason_lets_an_old_stage2_through_but_not_a_late_major() -> None:
    old = dataclasses.replace(READY, stage2_expired=True, override_reason="Evidence current")
    assert decision_refusal(old) is None
    assert decision_refusal(dataclasses.replace(old, override_reason="  ")) is not None
    late = dataclasses.replace(old, late_majors=1)
    refusal = decision_refusal(late)
    assert refusal is not None
    assert refusal.code == "stage2_expired"


def test_a_refusal_needs_no_report_or_closed_findings() -> None:
    facts = dataclasses.replace(READY, decision="refuse", report_issued=False, open_majors=3)
    assert decision_refusal(facts) is None


def test_a_decision_before_the_end_of_stage2_is_a_field_error() -> None:
    refusal = decision_refusal(dataclasses.replace(READY, decided_on=date(2026, 2, 28)))
    assert refusal == Refusal(
        "invalid", "A decision cannot predate the end of stage 2.", field="decided_on"
    )


@pytest.mark.parametrize(
    ("decision", "decided_on", "scope", "field"),
    [
        ("maybe", TODAY, "Parts", "decision"),
        ("grant", date(2026, 3, 11), "Parts", "decided_on"),
        ("grant", TODAY, "  ", "scope"),
    ],
)
def test_the_decision_input_is_checked(
    decision: str, decided_on: date, scope: str, field: str
) -> None:
    refusal = decision_input_refusal(decision, decided_on, TODAY, scope)
    assert refusal is not None
    assert refusal.field == field


def test_a_refusal_needs_no_scope() -> None:
    assert decision_input_refusal("refuse", TODAY, TODAY, "") is None


@pytest.mark.parametrize(
    ("status", "action", "after"),
    [
        ("active", CertificateAction.suspend, "suspended"),
        ("active", CertificateAction.withdraw, "withdrawn"),
        ("suspended", CertificateAction.withdraw, "withdrawn"),
        ("suspended", CertificateAction.restore, "active"),
    ],
)
def test_allowed_status_changes(status: str, action: CertificateAction, after: str) -> None:
    assert next_status(status, action) == after
    assert TRANSITIONS[(status, action)] == after


@pytest.mark.parametrize(
    ("status", "action", "code", "message"),
    [
        (
            "suspended",
            CertificateAction.suspend,
            "not_active",
            "Only an active certificate can be suspended; this one is suspended.",
        ),
        ("expired", CertificateAction.suspend, "not_active", None),
        ("withdrawn", CertificateAction.withdraw, "withdrawn_final", None),
        ("expired", CertificateAction.withdraw, "expired", None),
        (
            "active",
            CertificateAction.restore,
            "not_suspended",
            "Only a suspended certificate can be restored; this one is active.",
        ),
        ("withdrawn", CertificateAction.restore, "not_suspended", None),
    ],
)
def test_refused_status_changes_keep_their_codes(
    status: str, action: CertificateAction, code: str, message: str | None
) -> None:
    refusal = next_status(status, action)
    assert isinstance(refusal, Refusal)
    assert refusal.code == code
    if message is not None:
        assert refusal.message == message


def test_a_restore_after_six_months_of_suspension_is_refused() -> None:
    suspended = date(2025, 9, 1)
    assert (
        next_status(
            "suspended", CertificateAction.restore, suspended_on=suspended, today=date(2026, 3, 1)
        )
        == "active"
    )
    late = next_status(
        "suspended", CertificateAction.restore, suspended_on=suspended, today=date(2026, 3, 2)
    )
    assert isinstance(late, Refusal)
    assert late.code == "suspension_limit_passed"
