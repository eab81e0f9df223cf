"""Unit tests for when a request may be answered and a quote accepted."""

from __future__ import annotations

from datetime import date

import pytest

from marketplace.rules.quote_status import acceptance_refusal, answer_refusal, is_expired

TODAY = date(2026, 5, 1)


def test_a_pending_recipient_of_an_open_request_may_answer() -> None:
    assert answer_refusal("open", "pending") is None


def test_a_closed_request_takes_no_answers() -> None:
    refusal = answer_refusal("closed", "pending")
    assert refusal is not None
    assert refusal.code == "request_closed"
    assert refusal.message == "This request is closed: the client accepted a quote."


@pytest.mark.parametrize("status", ["quoted", "declined", "accepted", "not_selected"])
def test_a_body_answers_once(status: str) -> None:
    refusal = answer_refusal("open", status)
    assert refusal is not None
    assert refusal.code == "already_answered"
    assert refusal.message == f"Your body has already answered this request ({status})."


def test_a_submitted_valid_quote_of_an_open_request_may_be_accepted() -> None:
    assert acceptance_refusal("submitted", "open", TODAY, TODAY) is None


@pytest.mark.parametrize(
    ("quote", "request_status", "valid_until", "code"),
    [
        ("accepted", "closed", TODAY, "already_decided"),
        ("declined", "open", TODAY, "quote_declined"),
        ("submitted", "closed", TODAY, "request_closed"),
        ("submitted", "open", date(2026, 4, 30), "quote_expired"),
    ],
)
def test_acceptance_refusals_keep_their_codes(
    quote: str, request_status: str, valid_until: date, code: str
) -> None:
    refusal = acceptance_refusal(quote, request_status, valid_until, TODAY)
    assert refusal is not None
    assert refusal.code == code


def test_the_expiry_sentence_names_the_date() -> None:
    refusal = acceptance_refusal("submitted", "open", date(2026, 4, 30), TODAY)
    assert refusal is not None
    assert refusal.message == "This quote expired on 2026-04-30; ask the body for a new one."


def test_only_a_submitted_quote_expires() -> None:
    assert is_expired("submitted", date(2026, 4, 30), TODAY)
    assert not is_expired("submitted", TODAY, TODAY)
    assert not is_expired("accepted", date(2026, 4, 30), TODAY)
