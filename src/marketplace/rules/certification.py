"""The certification decision gate (ISO/IEC 17021-1:2015 9.5) and certificate status changes (9.6.5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from marketplace.rules.cycle import suspension_limit
from marketplace.rules.refusal import Refusal

# --- the decision gate (ISO/IEC 17021-1:2015 9.5; reference README "Findings") -----------------


def decision_input_refusal(
    decision: str, decided_on: date, today: date, scope: str
) -> Refusal | None:
    """What the decision itself must say: grant or refuse, not dated ahead, a scope to grant."""
    if decision not in ("grant", "refuse"):
        return Refusal("invalid", "Choose grant or refuse.", field="decision")
    if decided_on > today:
        return Refusal("invalid", "A decision cannot be dated in the future.", field="decided_on")
    if decision == "grant" and not scope.strip():
        return Refusal("invalid", "State the scope of certification.", field="scope")
    return None


@dataclass(frozen=True)
class GateFacts:
    """What the cycle holds when a decision is taken (read by the certificates domain)."""

    decision: str
    decided_on: date
    already_decided: bool
    last_day: date | None  # last day of the completed stage 2 (or recertification audit)
    report_issued: bool
    open_majors: int  # majors from stage 2 not yet verified (closed)
    open_minors: int  # minors without an accepted action plan
    late_majors: int  # majors verified more than 6 months after stage 2 ended
    stage2_expired: bool  # more than 6 months passed since stage 2 ended
    override_reason: str = ""  # the body's judgement that stage 2 evidence is still current


def decision_refusal(f: GateFacts) -> Refusal | None:
    """The first rule that stops a decision, in the order the body meets them, or None.

    - One decision per cycle (409 ``already_decided``).
    - The decision follows a completed stage 2 (409 ``stage2_not_completed``) and cannot
      predate its last day (422 on ``decided_on``).
    - A grant needs the stage 2 report issued (``report_not_issued``), every major
      verified (9.5.3; ``open_major_nonconformities``), every minor's plan accepted (reference
      README: an accepted plan is enough; ``open_minor_nonconformities``).
    - A major verified more than 6 months after the last day of stage 2 means stage 2 is
      repeated (9.5.3.2); a grant more than 6 months after stage 2 without such a major needs
      the body's recorded override reason. Both refuse with ``stage2_expired``.
    """
    if f.already_decided:
        return Refusal("already_decided", "This cycle already has a certification decision.")
    if f.last_day is None:
        return Refusal("stage2_not_completed", "The decision follows a completed stage 2 audit.")
    if f.decided_on < f.last_day:
        return Refusal(
            "invalid", "A decision cannot predate the end of stage 2.", field="decided_on"
        )
    if f.decision != "grant":
        return None
    if not f.report_issued:
        return Refusal("report_not_issued", "Issue the stage 2 report first.")
    if f.open_majors:
        return Refusal(
            "open_major_nonconformities",
            f"{f.open_majors} major nonconformities from stage 2 are not verified.",
        )
    if f.open_minors:
        return Refusal(
            "open_minor_nonconformities",
            f"{f.open_minors} minor nonconformities have no accepted action plan.",
        )
    if f.late_majors or (f.stage2_expired and not f.override_reason.strip()):
        return Refusal(
            "stage2_expired",
            f"More than 6 months passed since stage 2 ended on {f.last_day}; "
            "stage 2 must be repeated.",
        )
    return None


# --- certificate status (ISO/IEC 17021-1:2015 9.6.5; reference README "Suspension") -----------


class CertificateAction(StrEnum):
    suspend = "suspend"
    withdraw = "withdraw"
    restore = "restore"


# The event each action writes in the certificate's history and activity log.
EVENT = {
    CertificateAction.suspend: "suspended",
    CertificateAction.withdraw: "withdrawn",
    CertificateAction.restore: "restored",
}

# (status today, action) -> the status after it. Suspension is temporary (restored or
# withdrawn); withdrawal is final; an expired certificate changes no more.
TRANSITIONS: dict[tuple[str, CertificateAction], str] = {
    ("active", CertificateAction.suspend): "suspended",
    ("active", CertificateAction.withdraw): "withdrawn",
    ("suspended", CertificateAction.withdraw): "withdrawn",
    ("suspended", CertificateAction.restore): "active",
}

# Refusals for a (status, action) not in TRANSITIONS; "{status}" is the status today.
REFUSALS: dict[tuple[str, CertificateAction], Refusal] = {
    ("withdrawn", CertificateAction.withdraw): Refusal(
        "withdrawn_final", "This certificate is already withdrawn; that is final."
    ),
    ("expired", CertificateAction.withdraw): Refusal(
        "expired", "An expired certificate cannot be withdrawn."
    ),
}
DEFAULT_REFUSALS: dict[CertificateAction, Refusal] = {
    CertificateAction.suspend: Refusal(
        "not_active", "Only an active certificate can be suspended; this one is {status}."
    ),
    CertificateAction.withdraw: Refusal(
        "not_active", "Only an active or suspended certificate can be withdrawn."
    ),
    CertificateAction.restore: Refusal(
        "not_suspended", "Only a suspended certificate can be restored; this one is {status}."
    ),
}
SUSPENSION_LIMIT_PASSED = Refusal(
    "suspension_limit_passed",
    "The suspension is older than 6 months: withdraw the certificate or reduce its scope.",
)


def next_status(
    status: str,
    action: CertificateAction,
    *,
    suspended_on: date | None = None,
    today: date | None = None,
) -> str | Refusal:
    """The status an action leads to from ``status`` (the effective one), or why it may not.

    A restore more than 6 months after the suspension (``rules.cycle.suspension_limit``) is
    refused: the body withdraws or reduces the scope instead.
    """
    after = TRANSITIONS.get((status, action))
    if after is None:
        refusal = REFUSALS.get((status, action), DEFAULT_REFUSALS[action])
        return Refusal(refusal.code, refusal.message.format(status=status), refusal.field)
    if (
        action is CertificateAction.restore
        and suspended_on is not None
        and today is not None
        and today > suspension_limit(suspended_on)
    ):
        return SUSPENSION_LIMIT_PASSED
    return after
