"""Readiness rules: Annex SL clause checklists, gap scores, stage 1 readiness and record retention."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from marketplace.rules.cycle import add_months

# Clause groups 4 to 10 of the harmonized structure (ISO/IEC Directives Part 1, Annex SL
# Appendix 2) every management-system standard on the platform follows; titles per
# seed/iso9001_clauses.csv (from ../shared/reference/iso9001_clauses.csv, ISO 9001:2015).
GROUPS = ("4", "5", "6", "7", "8", "9", "10")
INTERNAL_AUDIT_MONTHS = 12
MANAGEMENT_REVIEW_MONTHS = 12


class Rating(StrEnum):
    in_place = "in_place"
    partly = "partly"
    missing = "missing"
    not_applicable = "not_applicable"


# A clause partly in place counts half: the scale the guide's gap assessment uses (in place,
# partly, missing). Not applicable clauses are left out of the score (ISO 9001:2015 4.3 lets
# an organisation justify requirements that do not apply).
WEIGHTS = {Rating.in_place: 1.0, Rating.partly: 0.5, Rating.missing: 0.0}
GAP_ORDER = {Rating.missing: 0, Rating.partly: 1}


@dataclass(frozen=True)
class Clause:
    clause: str
    title: str

    @property
    def group(self) -> str:
        return group_of(self.clause)

    @property
    def is_group(self) -> bool:
        return "." not in self.clause


# Where ISO 14001:2015, ISO 45001:2018 and ISO/IEC 27001:2022 word the shared structure
# differently from ISO 9001:2015, or have other sub-clauses (notably 6.1 and clause 8).
_EMS = {
    "4.3": "Determining the scope of the environmental management system",
    "4.4": "Environmental management system",
    "5.2": "Environmental policy",
    "6.1": "Actions to address risks and opportunities (environmental aspects, compliance obligations)",
    "6.2": "Environmental objectives and planning to achieve them",
    "6.3": None,
    "8.2": "Emergency preparedness and response",
}
_OHS = {
    "4.2": "Understanding the needs and expectations of workers and other interested parties",
    "4.3": "Determining the scope of the OH&S management system",
    "4.4": "OH&S management system",
    "5": "Leadership and worker participation",
    "5.2": "OH&S policy",
    "5.4": "Consultation and participation of workers",
    "6.1": "Actions to address risks and opportunities (hazards, OH&S risks, legal requirements)",
    "6.2": "OH&S objectives and planning to achieve them",
    "6.3": None,
    "8.2": "Emergency preparedness and response",
    "9.1": "Monitoring, measurement, analysis and performance evaluation",
    "10.2": "Incident, nonconformity and corrective action",
}
_ISMS = {
    "4.3": "Determining the scope of the information security management system",
    "4.4": "Information security management system",
    "6.1": "Actions to address risks and opportunities (risk assessment and treatment, Statement of Applicability)",
    "6.2": "Information security objectives and planning to achieve them",
    "8.2": "Information security risk assessment",
    "8.3": "Information security risk treatment",
    "10.1": "Continual improvement",
    "10.2": "Nonconformity and corrective action",
    "10.3": None,
}
# Other management-system standards: the harmonized structure with neutral wording and clause 8
# reduced to its common 8.1; their own operational clauses are rated under 8.1.
_GENERIC = {
    "4.3": "Determining the scope of the management system",
    "4.4": "Management system and its processes",
    "6.2": "Objectives and planning to achieve them",
}
_QMS_ONLY_OPERATION = ("8.2", "8.3", "8.4", "8.5", "8.6", "8.7")
OVERRIDES: dict[str, dict[str, str | None]] = {
    "ISO 14001:2015": _EMS,
    "ISO 45001:2018": _OHS,
    "ISO/IEC 27001:2022": _ISMS,
}
BASE_STANDARD = "ISO 9001:2015"
# ISO 13485 keeps ISO 9001's clause 8 headings closest; still treated as generic here.


def clause_key(clause: str) -> tuple[int, ...]:
    """Sort "4.10" after "4.9" and "10" after "9": numeric parts, not text."""
    parts: list[int] = []
    for part in clause.split("."):
        try:
            parts.append(int(part))
        except ValueError:
            parts.append(10**6)
    return tuple(parts)


def group_of(clause: str) -> str:
    return clause.split(".", 1)[0]


def checklist(standard: str, base: Sequence[tuple[str, str]]) -> list[Clause]:
    """The clauses 4 to 10 of `standard`, built on ISO 9001:2015's titles (`base`).

    ISO 14001, ISO 45001 and ISO/IEC 27001 get their own titles and sub-clauses where they differ
    (OVERRIDES); any other standard gets the harmonized structure in neutral wording.
    """
    if standard == BASE_STANDARD:
        overrides: dict[str, str | None] = {}
    elif standard in OVERRIDES:
        overrides = {c: None for c in _QMS_ONLY_OPERATION}
        overrides.update(OVERRIDES[standard])
    else:
        overrides = {c: None for c in _QMS_ONLY_OPERATION}
        overrides.update(_GENERIC)
    titles: dict[str, str] = {}
    for clause, title in base:
        if group_of(clause) in GROUPS:
            titles[clause] = title
    for clause, override in overrides.items():
        if override is None:
            titles.pop(clause, None)
        else:
            titles[clause] = override
    return [Clause(c, titles[c]) for c in sorted(titles, key=clause_key)]


@dataclass(frozen=True)
class Score:
    """Percent readiness (None when every rated clause is not applicable) and the counts."""

    percent: int | None
    counts: dict[str, int]


def score(ratings: Iterable[str]) -> Score:
    """100 x (in place + half of partly) / applicable clauses; not applicable is left out."""
    counts = {r.value: 0 for r in Rating}
    for value in ratings:
        counts[Rating(value).value] += 1
    applicable = sum(counts[r.value] for r in WEIGHTS)
    if applicable == 0:
        return Score(None, counts)
    earned = sum(WEIGHTS[r] * counts[r.value] for r in WEIGHTS)
    return Score(round(100 * earned / applicable), counts)


@dataclass(frozen=True)
class Readiness:
    overall: Score
    groups: dict[str, Score]


def readiness(items: Iterable[tuple[str, str]]) -> Readiness:
    """Scores per clause group (4 to 10) and overall from (clause, rating) pairs of sub-clauses.

    Group headings ("4", "5" ...) carry no requirement of their own and are not rated.
    """
    by_group: dict[str, list[str]] = {g: [] for g in GROUPS}
    every: list[str] = []
    for clause, rating in items:
        if "." not in clause:
            continue
        by_group.setdefault(group_of(clause), []).append(rating)
        every.append(rating)
    return Readiness(score(every), {g: score(r) for g, r in by_group.items()})


def gaps(items: Iterable[tuple[str, str]]) -> list[str]:
    """Clauses still missing or partly in place: missing first, each in clause order."""
    rated = [(c, Rating(r)) for c, r in items if "." in c and Rating(r) in GAP_ORDER]
    return [c for c, r in sorted(rated, key=lambda x: (GAP_ORDER[x[1]], clause_key(x[0])))]


def level(percent: int | None) -> str:
    """A plain word for the overall score, for lists and the demo's spread of clients."""
    if percent is None:
        return "not assessed"
    if percent >= 90:
        return "ready for stage 1"
    if percent >= 60:
        return "closing gaps"
    return "early"


# --- stage 1 readiness ----------------------------------------------------------------------


@dataclass(frozen=True)
class Stage1Readiness:
    internal_audit_cycle: bool
    clauses_not_audited: list[str]
    management_review: bool
    last_management_review: dt.date | None

    @property
    def ready(self) -> bool:
        return self.internal_audit_cycle and self.management_review


def stage1_readiness(
    completed_audits: Iterable[tuple[dt.date, Iterable[str]]],
    management_reviews: Iterable[dt.date],
    today: dt.date,
) -> Stage1Readiness:
    """Whether one full internal audit cycle and a management review exist before stage 1.

    ISO/IEC 17021-1:2015 9.3.1.2 (stage 1 reviews whether internal audits and management review
    are planned and performed) with ISO 9001:2015 9.2 and 9.3: a full cycle means every clause
    group 4 to 10 covered by internal audits completed within the last 12 months, and one
    management review held within 12 months.
    """
    since_audit = add_months(today, -INTERNAL_AUDIT_MONTHS)
    covered: set[str] = set()
    for completed_on, clauses in completed_audits:
        if since_audit <= completed_on <= today:
            covered.update(group_of(c.strip()) for c in clauses if c.strip())
    missing = [g for g in GROUPS if g not in covered]
    since_review = add_months(today, -MANAGEMENT_REVIEW_MONTHS)
    held = [d for d in management_reviews if since_review <= d <= today]
    return Stage1Readiness(
        internal_audit_cycle=not missing,
        clauses_not_audited=missing,
        management_review=bool(held),
        last_management_review=max(held) if held else None,
    )


# --- documented information -----------------------------------------------------------------

DOCUMENT_TYPES = ("policy", "procedure", "work_instruction", "record")


def retention_ends(start: dt.date, months: int) -> dt.date:
    """The last day a record must be kept: `months` after it took effect (ISO 9001:2015 7.5.3.2 d)."""
    return add_months(start, months)


def past_retention(
    doc_type: str, start: dt.date | None, months: int | None, today: dt.date
) -> bool:
    """A record kept longer than its retention period: flagged for disposition (7.5.3.2 d).

    Only records (retained documented information) have a retention period; policies,
    procedures and work instructions are maintained, not retained.
    """
    if doc_type != "record" or start is None or months is None:
        return False
    return today > retention_ends(start, months)


def review_due(next_review_on: dt.date | None, today: dt.date) -> bool:
    """A document whose planned review date has arrived (ISO 9001:2015 7.5.2 c, review for adequacy)."""
    return next_review_on is not None and today >= next_review_on
