"""Audit status transitions: which booking action may move an audit from which status, and where to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AuditStatus(StrEnum):
    # Declared in the order an audit's life runs; refusals list the allowed statuses in it.
    planned = "planned"
    requested = "requested"
    proposed = "proposed"
    confirmed = "confirmed"
    completed = "completed"
    cancelled = "cancelled"


class AuditAction(StrEnum):
    propose = "propose"
    request = "request"
    decline = "decline"
    reschedule = "reschedule"
    confirm = "confirm"
    cancel = "cancel"
    complete = "complete"


@dataclass(frozen=True)
class Transition:
    """Where an action leads from one status, and the clause that allows it."""

    to: AuditStatus
    source: str


@dataclass(frozen=True)
class Refusal:
    """An action the audit's status does not allow: a 409 with this code and message."""

    code: str
    message: str


# Every refusal of a status carries this code (API.md), whatever the action.
REFUSAL_CODE = "invalid_state"

_S, _A = AuditStatus, AuditAction
TRANSITIONS: dict[tuple[AuditStatus, AuditAction], Transition] = {
    # The body selects the team and plans the audit (ISO/IEC 17021-1 9.2.2, 9.2.3).
    (_S.planned, _A.propose): Transition(_S.proposed, "ISO/IEC 17021-1 9.2.2, 9.2.3"),
    # A client's request only holds a lead; the team stays the body's choice (9.2.2).
    (_S.requested, _A.propose): Transition(_S.proposed, "ISO/IEC 17021-1 9.2.2"),
    # The programme's frequencies still apply after a cancellation: plan it again (9.1.3).
    (_S.cancelled, _A.propose): Transition(_S.proposed, "ISO/IEC 17021-1 9.1.3, 9.2.3"),
    # Self-service: the client asks for an offered slot of the slot finder.
    (_S.planned, _A.request): Transition(_S.requested, "DESIGN.md Workflows 3 (Schedule)"),
    (_S.cancelled, _A.request): Transition(_S.requested, "DESIGN.md Workflows 3 (Schedule)"),
    (_S.requested, _A.decline): Transition(_S.planned, "ISO/IEC 17021-1 9.2.2"),
    # A changed plan is communicated to and agreed with the client again (9.2.3).
    (_S.proposed, _A.reschedule): Transition(_S.proposed, "ISO/IEC 17021-1 9.2.3"),
    (_S.confirmed, _A.reschedule): Transition(_S.proposed, "ISO/IEC 17021-1 9.2.3"),
    # The client agrees to the audit plan (9.2.3).
    (_S.proposed, _A.confirm): Transition(_S.confirmed, "ISO/IEC 17021-1 9.2.3"),
    # Any booking not yet held may be cancelled, its history kept (DESIGN.md Workflows 3).
    (_S.planned, _A.cancel): Transition(_S.cancelled, "DESIGN.md Workflows 3 (Schedule)"),
    (_S.requested, _A.cancel): Transition(_S.cancelled, "DESIGN.md Workflows 3 (Schedule)"),
    (_S.proposed, _A.cancel): Transition(_S.cancelled, "DESIGN.md Workflows 3 (Schedule)"),
    (_S.confirmed, _A.cancel): Transition(_S.cancelled, "DESIGN.md Workflows 3 (Schedule)"),
    # The agreed audit was held: stage 1 (9.3.1.2), any other audit (9.4).
    (_S.confirmed, _A.complete): Transition(_S.completed, "ISO/IEC 17021-1 9.3.1.2, 9.4"),
}

# How a refusal names each action: "Cannot <doing> an audit that is ...".
DOING: dict[AuditAction, str] = {
    AuditAction.propose: "propose dates for",
    AuditAction.request: "request a slot for",
    AuditAction.decline: "decline a request for",
    AuditAction.reschedule: "reschedule",
    AuditAction.confirm: "confirm",
    AuditAction.cancel: "cancel",
    AuditAction.complete: "complete",
}


def allowed_from(action: AuditAction) -> tuple[AuditStatus, ...]:
    """The statuses ``action`` may start from, in the order of an audit's life."""
    return tuple(s for s in AuditStatus if (s, action) in TRANSITIONS)


def allowed_actions(status: str) -> frozenset[AuditAction]:
    """What may be done next to an audit in ``status`` (what a page offers)."""
    return frozenset(a for (s, a) in TRANSITIONS if s == status)


def next_status(status: str, action: AuditAction) -> AuditStatus | Refusal:
    """The status ``action`` leads to from ``status``, or the refusal when it may not start there."""
    transition = TRANSITIONS.get((AuditStatus(status), action))
    if transition is not None:
        return transition.to
    allowed = " or ".join(allowed_from(action))
    return Refusal(
        REFUSAL_CODE, f"Cannot {DOING[action]} an audit that is {status} (it must be {allowed})."
    )
