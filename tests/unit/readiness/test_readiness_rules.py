"""Readiness rules: checklists per standard, scores with n/a left out, gaps, stage 1, retention."""

from __future__ import annotations

import datetime as dt

import pytest

from marketplace.readiness.assessments import base_clauses
from marketplace.rules import readiness as rules

D = dt.date


def test_base_checklist_is_iso_9001_clauses_4_to_10() -> None:
    items = rules.checklist("ISO 9001:2015", base_clauses())
    assert len(items) == 35
    assert [c.clause for c in items if c.is_group] == list(rules.GROUPS)
    assert items[0] == rules.Clause("4", "Context of the organization")
    assert [c.clause for c in items][-4:] == ["10", "10.1", "10.2", "10.3"]


@pytest.mark.parametrize(
    ("standard", "clause", "title"),
    [
        ("ISO 14001:2015", "5.2", "Environmental policy"),
        ("ISO 45001:2018", "5.4", "Consultation and participation of workers"),
        ("ISO 45001:2018", "10.2", "Incident, nonconformity and corrective action"),
        ("ISO/IEC 27001:2022", "8.2", "Information security risk assessment"),
        ("ISO/IEC 27001:2022", "10.1", "Continual improvement"),
        ("ISO 50001:2018", "4.3", "Determining the scope of the management system"),
    ],
)
def test_other_standards_have_their_own_titles(standard: str, clause: str, title: str) -> None:
    items = {c.clause: c.title for c in rules.checklist(standard, base_clauses())}
    assert items[clause] == title
    assert "8.7" not in items  # ISO 9001's product clauses are its own
    assert all(g in items for g in rules.GROUPS)


def test_iso_27001_and_14001_structure_differences() -> None:
    isms = [c.clause for c in rules.checklist("ISO/IEC 27001:2022", base_clauses())]
    assert "10.3" not in isms
    assert "6.3" in isms
    ems = [c.clause for c in rules.checklist("ISO 14001:2015", base_clauses())]
    assert "6.3" not in ems
    assert ems.count("8.2") == 1


def test_score_counts_partly_as_half_and_leaves_out_not_applicable() -> None:
    s = rules.score(["in_place", "partly", "missing", "not_applicable"])
    assert s.percent == 50  # (1 + 0.5 + 0) / 3
    assert s.counts == {"in_place": 1, "partly": 1, "missing": 1, "not_applicable": 1}
    assert rules.score(["not_applicable", "not_applicable"]).percent is None
    assert rules.score([]).percent is None
    assert rules.score(["in_place"] * 3).percent == 100
    assert rules.score(["partly", "in_place", "in_place"]).percent == 83
    with pytest.raises(ValueError, match="done"):
        rules.score(["done"])


def test_readiness_per_group_ignores_headings() -> None:
    result = rules.readiness(
        [("4", "missing"), ("4.1", "in_place"), ("4.2", "partly"), ("5.1", "not_applicable")]
    )
    assert result.groups["4"].percent == 75
    assert result.groups["5"].percent is None
    assert result.groups["10"].percent is None
    assert result.overall.percent == 75


def test_gaps_missing_first_then_clause_order() -> None:
    items = [("10.2", "missing"), ("4.1", "partly"), ("9.2", "missing"), ("7.1", "in_place")]
    items += [("4.10", "missing"), ("4.9", "missing"), ("6.1", "not_applicable"), ("5", "missing")]
    assert rules.gaps(items) == ["4.9", "4.10", "9.2", "10.2", "4.1"]


def test_levels() -> None:
    assert rules.level(None) == "not assessed"
    assert rules.level(95) == "ready for stage 1"
    assert rules.level(60) == "closing gaps"
    assert rules.level(59) == "early"


def test_stage1_readiness_needs_full_cycle_within_12_months() -> None:
    today = D(2026, 6, 30)
    audits = [(D(2026, 1, 10), ["4.1", "5", "6.2", "7"]), (D(2026, 5, 2), ["8.5.1", "9", "10"])]
    result = rules.stage1_readiness(audits, [D(2026, 3, 1)], today)
    assert result.ready
    assert result.clauses_not_audited == []
    assert result.last_management_review == D(2026, 3, 1)

    stale = [(D(2025, 6, 29), ["4", "5", "6", "7"]), (D(2026, 5, 2), ["8", "9", "10"])]
    result = rules.stage1_readiness(stale, [D(2025, 6, 29)], today)
    assert result.clauses_not_audited == ["4", "5", "6", "7"]
    assert not result.management_review
    assert not result.ready
    # Exactly 12 months back still counts.
    edge = rules.stage1_readiness([(D(2025, 6, 30), rules.GROUPS)], [D(2025, 6, 30)], today)
    assert edge.ready
    future = rules.stage1_readiness([(D(2026, 7, 1), rules.GROUPS)], [D(2026, 7, 1)], today)
    assert not future.internal_audit_cycle
    assert not future.management_review


def test_retention_only_for_records_and_counted_in_months() -> None:
    start = D(2024, 1, 31)
    assert rules.retention_ends(start, 1) == D(2024, 2, 29)
    assert rules.past_retention("record", start, 24, D(2026, 1, 31)) is False
    assert rules.past_retention("record", start, 24, D(2026, 2, 1)) is True
    assert rules.past_retention("procedure", start, 24, D(2030, 1, 1)) is False
    assert rules.past_retention("record", None, 24, D(2030, 1, 1)) is False
    assert rules.past_retention("record", start, None, D(2030, 1, 1)) is False


def test_review_due_on_the_day() -> None:
    assert rules.review_due(D(2026, 5, 1), D(2026, 5, 1))
    assert not rules.review_due(D(2026, 5, 2), D(2026, 5, 1))
    assert not rules.review_due(None, D(2026, 5, 1))


def test_clause_key_sorts_numerically() -> None:
    assert sorted(["10", "9.3", "4.10", "4.9", "4"], key=rules.clause_key) == [
        "4",
        "4.9",
        "4.10",
        "9.3",
        "10",
    ]


def test_progress_svg_has_title_points_and_no_script() -> None:
    from marketplace.readiness.charts import progress_svg

    svg = progress_svg(
        [
            {"taken_on": D(2026, 1, 1), "overall": 10},
            {"taken_on": D(2026, 1, 5), "overall": None},
            {"taken_on": D(2026, 2, 1), "overall": 55},
        ],
        title="Progress <&>",
    )
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert '<title id="progress-title">Progress &lt;&amp;&gt;</title>' in svg
    assert svg.count('class="point"') == 2
    assert "<polyline" in svg
    assert "<script" not in svg
    assert "2026-02-01: 55%" in svg
    assert progress_svg([]).endswith("</svg>")
