"""A patch changes what it sends: absent fields stay, a null clears only a clearable field."""

from __future__ import annotations

import datetime as dt
import uuid

from marketplace.readiness.context import changes_of, columns_of
from marketplace.readiness.schemas import DocumentPatch, GapItemPatch
from marketplace.readiness.tables import ControlledDocument


def test_only_sent_values_change() -> None:
    patch = GapItemPatch(rating="partly")
    assert changes_of(patch, {"rating"}, ("owner_id", "target_date")) == {"rating": "partly"}


def test_a_sent_null_clears_a_clearable_field_only() -> None:
    patch = GapItemPatch(note=None, owner_id=None)
    changes = changes_of(patch, {"note", "owner_id"}, ("owner_id", "target_date"))
    assert changes == {"owner_id": None}


def test_values_and_clears_together() -> None:
    owner = uuid.uuid4()
    patch = DocumentPatch(title="Policy", owner_id=owner, next_review_on=None)
    changes = changes_of(
        patch, {"title", "owner_id", "next_review_on"}, ("owner_id", "next_review_on")
    )
    assert changes == {"title": "Policy", "owner_id": owner, "next_review_on": None}


def test_columns_of_keeps_a_clearing_null() -> None:
    day = dt.date(2026, 5, 1)
    updates = columns_of(
        ControlledDocument,
        {"next_review_on": day, "retention_months": None, "title": "x"},
        ("next_review_on", "retention_months"),
    )
    assert updates == {
        ControlledDocument.next_review_on: day,
        ControlledDocument.retention_months: None,
    }
