"""The dashboards' month keys and the client list's filters as they stand in the address."""

from __future__ import annotations

import datetime as dt

from marketplace.dashboards.months import month_end, month_key, month_starts
from marketplace.dashboards.schemas import ClientFilters


def test_month_keys_match_the_grouped_queries() -> None:
    assert month_key(dt.date(2026, 3, 31)) == "2026-03"
    starts = month_starts(dt.date(2026, 1, 15), 3)
    assert [month_key(s) for s in starts] == ["2025-11", "2025-12", "2026-01"]
    assert month_end(dt.date(2024, 2, 1)) == dt.date(2024, 2, 29)


def test_client_filters_keep_only_what_was_chosen() -> None:
    filters = ClientFilters(q="acme", open_ncs=True, overdue_invoices=False, standard="")
    assert filters.query() == {"q": "acme", "open_ncs": "true"}
    assert ClientFilters().query() == {}
    soon = dt.date(2026, 5, 1)
    assert ClientFilters(due_before=soon, sort="name").query() == {
        "due_before": soon,
        "sort": "name",
    }
