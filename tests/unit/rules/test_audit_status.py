"""Unit tests for the audit status transitions the booking flow consults."""

from __future__ import annotations

import pytest

from marketplace.rules.audit_status import (
    DOING,
    REFUSAL_CODE,
    TRANSITIONS,
    AuditAction,
    AuditStatus,
    Refusal,
    allowed_actions,
    allowed_from,
    next_status,
)


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        ("planned", AuditAction.propose, AuditStatus.proposed),
        ("requested", AuditAction.propose, AuditStatus.proposed),
        ("cancelled", AuditAction.propose, AuditStatus.proposed),
        ("planned", AuditAction.request, AuditStatus.requested),
        ("cancelled", AuditAction.request, AuditStatus.requested),
        ("requested", AuditAction.decline, AuditStatus.planned),
        ("proposed", AuditAction.reschedule, AuditStatus.proposed),
        ("confirmed", AuditAction.reschedule, AuditStatus.proposed),
        ("proposed", AuditAction.confirm, AuditStatus.confirmed),
        ("planned", AuditAction.cancel, AuditStatus.cancelled),
        ("requested", AuditAction.cancel, AuditStatus.cancelled),
        ("proposed", AuditAction.cancel, AuditStatus.cancelled),
        ("confirmed", AuditAction.cancel, AuditStatus.cancelled),
        ("confirmed", AuditAction.complete, AuditStatus.completed),
    ],
)
def test_allowed_moves(status: str, action: AuditAction, expected: AuditStatus) -> None:
    assert next_status(status, action) == expected


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        (
            "confirmed",
            AuditAction.propose,
            "Cannot propose dates for an audit that is confirmed "
            "(it must be planned or requested or cancelled).",
        ),
        (
            "proposed",
            AuditAction.request,
            "Cannot request a slot for an audit that is proposed "
            "(it must be planned or cancelled).",
        ),
        (
            "planned",
            AuditAction.decline,
            "Cannot decline a request for an audit that is planned (it must be requested).",
        ),
        (
            "planned",
            AuditAction.reschedule,
            "Cannot reschedule an audit that is planned (it must be proposed or confirmed).",
        ),
        (
            "confirmed",
            AuditAction.confirm,
            "Cannot confirm an audit that is confirmed (it must be proposed).",
        ),
        (
            "completed",
            AuditAction.cancel,
            "Cannot cancel an audit that is completed "
            "(it must be planned or requested or proposed or confirmed).",
        ),
        (
            "proposed",
            AuditAction.complete,
            "Cannot complete an audit that is proposed (it must be confirmed).",
        ),
    ],
)
def test_refusals_name_the_action_and_the_allowed_statuses(
    status: str, action: AuditAction, message: str
) -> None:
    assert next_status(status, action) == Refusal("invalid_state", message)


@pytest.mark.parametrize("action", list(AuditAction))
def test_a_completed_audit_moves_no_further(action: AuditAction) -> None:
    refusal = next_status("completed", action)
    assert isinstance(refusal, Refusal)
    assert refusal.code == REFUSAL_CODE


def test_every_action_has_a_refusal_phrase_and_a_start() -> None:
    assert set(DOING) == set(AuditAction)
    assert all(allowed_from(action) for action in AuditAction)


def test_every_transition_cites_its_source() -> None:
    for transition in TRANSITIONS.values():
        assert transition.source.startswith(("ISO/IEC 17021-1 ", "DESIGN.md "))


def test_allowed_actions_are_what_a_page_offers() -> None:
    assert allowed_actions("planned") == {
        AuditAction.propose,
        AuditAction.request,
        AuditAction.cancel,
    }
    assert allowed_actions("requested") == {
        AuditAction.propose,
        AuditAction.decline,
        AuditAction.cancel,
    }
    assert allowed_actions("completed") == frozenset()
