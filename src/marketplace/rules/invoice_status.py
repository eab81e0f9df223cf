"""An invoice's life: which action moves which status to which, and the refusal when it may not.

Sources: DESIGN.md, workflow 5 "Bill" and the billing domain model (status draft/open/paid/void;
"an illegal transition is a 409 with a clear message"); STYLE.md, pretix's frozen invoice (once
issued it is never edited, only cancelled by a credit note that refers to it, so a credit note
itself has no further transitions).
"""

from __future__ import annotations

from marketplace.rules.refusal import Refusal

INVOICE = "invoice"
CREDIT_NOTE = "credit_note"

DRAFT = "draft"
OPEN = "open"
PAID = "paid"
VOID = "void"
ISSUED = "issued"  # a credit note's one status

ISSUE = "issue"  # number it and freeze seller and buyer
VOID_ACTION = "void"  # cancel it with a credit note
PAY = "pay"  # start (or resume) paying online; the invoice stays open until money arrives
SETTLE = "settle"  # recorded payments cover the total


# (status, action) -> next status, for invoices. Anything not listed is refused.
TRANSITIONS: dict[tuple[str, str], str] = {
    (DRAFT, ISSUE): OPEN,
    (OPEN, VOID_ACTION): VOID,
    (OPEN, PAY): OPEN,
    (OPEN, SETTLE): PAID,
}

# The refusal of each action, the same whatever status refused it. Settling is never refused
# with an error: money that arrives on a paid or voided invoice is recorded and flagged instead.
REFUSALS: dict[str, Refusal] = {
    ISSUE: Refusal("not_draft", "Only a draft invoice can be issued."),
    VOID_ACTION: Refusal("not_open", "Only an open invoice can be voided."),
    PAY: Refusal("not_open", "Only an open invoice with an amount due can be paid."),
}


def next_status(kind: str, status: str, action: str) -> str | None:
    """The status the action leads to, or None when it does not apply (credit notes: never)."""
    if kind != INVOICE:
        return None
    return TRANSITIONS.get((status, action))


def refusal(action: str) -> Refusal:
    """The refusal told when `action` does not apply."""
    return REFUSALS[action]


def may(kind: str, status: str, action: str) -> bool:
    return next_status(kind, status, action) is not None
