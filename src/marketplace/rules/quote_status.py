"""Quote and quote-request status: who may still answer a request, and when a quote may be accepted."""

from __future__ import annotations

from datetime import date

from marketplace.rules.refusal import Refusal

# A request is "open" until the client accepts a quote or withdraws it ("closed").
# A recipient body's row: pending -> quoted | declined (its answer), then accepted or
# not_selected when the client decides. A quote: submitted -> accepted | declined.

# Accepting a quote, by the quote's status: the next status, or why not.
ACCEPT: dict[str, str | Refusal] = {
    "submitted": "accepted",
    "accepted": Refusal("already_decided", "This quote is already accepted."),
    "declined": Refusal(
        "quote_declined",
        "This quote was declined when another quote was accepted or the request closed.",
    ),
}
REQUEST_CLOSED = Refusal("request_closed", "This request is closed.")
REQUEST_CLOSED_FOR_ANSWERS = Refusal(
    "request_closed", "This request is closed: the client accepted a quote."
)
REQUEST_ALREADY_CLOSED = Refusal("request_closed", "This request is already closed.")
QUOTE_NO_LONGER_ACCEPTABLE = Refusal("quote_expired", "This quote can no longer be accepted.")


def is_expired(status: str, valid_until: date, today: date) -> bool:
    """A submitted quote past its validity date cannot be accepted (compared by date, in UTC)."""
    return status == "submitted" and valid_until < today


def answer_refusal(request_status: str, recipient_status: str) -> Refusal | None:
    """A recipient body answers (quote or decline) once, while the request is open."""
    if request_status != "open":
        return REQUEST_CLOSED_FOR_ANSWERS
    if recipient_status != "pending":
        return Refusal(
            "already_answered",
            f"Your body has already answered this request ({recipient_status}).",
        )
    return None


def acceptance_refusal(
    quote_status: str, request_status: str, valid_until: date, today: date
) -> Refusal | None:
    """The client accepts a submitted, unexpired quote of an open request; else 409 with a code."""
    after = ACCEPT.get(quote_status)
    if isinstance(after, Refusal):
        return after
    if request_status != "open":
        return REQUEST_CLOSED
    if is_expired(quote_status, valid_until, today):
        return Refusal(
            "quote_expired", f"This quote expired on {valid_until}; ask the body for a new one."
        )
    return None
