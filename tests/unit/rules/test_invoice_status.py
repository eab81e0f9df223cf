"""Unit tests for the invoice status table (draft -> open -> paid | void; credit notes frozen)."""

from __future__ import annotations

import pytest

from marketplace.rules import invoice_status as s
from marketplace.rules.refusal import Refusal

STATUSES = (s.DRAFT, s.OPEN, s.PAID, s.VOID)
ACTIONS = (s.ISSUE, s.VOID_ACTION, s.PAY, s.SETTLE)


@pytest.mark.parametrize(
    ("status", "action", "after"),
    [
        (s.DRAFT, s.ISSUE, s.OPEN),
        (s.OPEN, s.VOID_ACTION, s.VOID),
        (s.OPEN, s.PAY, s.OPEN),
        (s.OPEN, s.SETTLE, s.PAID),
    ],
)
def test_allowed_transitions(status: str, action: str, after: str) -> None:
    assert s.next_status(s.INVOICE, status, action) == after
    assert s.may(s.INVOICE, status, action)


def test_everything_else_is_refused() -> None:
    allowed = set(s.TRANSITIONS)
    for status in STATUSES:
        for action in ACTIONS:
            if (status, action) not in allowed:
                assert s.next_status(s.INVOICE, status, action) is None, (status, action)


@pytest.mark.parametrize("action", ACTIONS)
def test_a_credit_note_never_moves(action: str) -> None:
    # pretix: an issued document is frozen; a credit note is not cancelled in turn.
    for status in (s.ISSUED, *STATUSES):
        assert s.next_status(s.CREDIT_NOTE, status, action) is None


def test_refusals_keep_the_api_codes_and_messages() -> None:
    assert s.refusal(s.ISSUE) == Refusal("not_draft", "Only a draft invoice can be issued.")
    assert s.refusal(s.VOID_ACTION) == Refusal("not_open", "Only an open invoice can be voided.")
    assert s.refusal(s.PAY) == Refusal(
        "not_open", "Only an open invoice with an amount due can be paid."
    )


def test_settling_is_never_refused_with_an_error() -> None:
    # Money on a paid or voided invoice is recorded and flagged, not refused.
    assert s.SETTLE not in s.REFUSALS
