"""The audit-time baseline (IAF MD 5, IAF MD 1) that every request and its quotes are judged against."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import msgspec

from marketplace.core.errors import Invalid
from marketplace.quotes.schemas import AuditTimeOut, SampledSitesOut, StandardRecord
from marketplace.quotes.values import check_int, clean_text
from marketplace.reference.tables import Standard
from marketplace.rules.audit_time import (
    AuditTimeEstimate,
    Complexity,
    Family,
    complexity_levels,
    estimate,
    table_family,
)

# The five audits of an initial three-year cycle (ISO/IEC 17021-1 9.1.3), in order.
AUDIT_KINDS = ("stage1", "stage2", "surveillance1", "surveillance2", "recertification")
AUDIT_LABELS = {
    "stage1": "Stage 1",
    "stage2": "Stage 2",
    "surveillance1": "Surveillance 1",
    "surveillance2": "Surveillance 2",
    "recertification": "Recertification",
}
MAX_PERSONNEL = 1_000_000
MAX_SITES = 10_000


@dataclass(frozen=True)
class Baseline:
    """An estimate for one standard and profile, with the family whose table was read."""

    standard: str
    family: str
    table_family: Family
    complexity: Complexity | None
    estimate: AuditTimeEstimate
    table_days: float
    basis: tuple[str, ...]


async def standard_row(code: str) -> StandardRecord:
    code = clean_text(code, "standard")
    rows = await Standard.select().where(Standard.code == code).run()
    if not rows:
        raise Invalid.field(
            "standard", f"Unknown standard {code!r}; use a code from /api/v1/standards."
        )
    return msgspec.convert(rows[0], StandardRecord)


def _complexity(
    value: str | None, standard: str, family: Family, uses_complexity: bool
) -> Complexity | None:
    """The complexity a standard's table is read with: one of its own levels, or none at all."""
    levels = complexity_levels(family) or (tuple(Complexity) if uses_complexity else ())
    allowed = ", ".join(c.value for c in levels)
    if value in (None, ""):
        if levels:
            raise Invalid.field(
                "complexity",
                "This standard's audit time depends on the complexity of its risks: choose "
                f"one of {allowed} (IAF MD 5).",
            )
        return None
    if not levels:
        raise Invalid.field(
            "complexity", f"{standard} has no complexity levels: leave complexity empty (null)."
        )
    if value not in {c.value for c in levels}:
        raise Invalid.field("complexity", f"For {standard} choose one of {allowed}.")
    return Complexity(str(value))


async def baseline(
    standard: str,
    effective_personnel: int,
    complexity: str | None = None,
    sites: int = 1,
    adjustment_pct: float = 0.0,
) -> Baseline:
    """Audit days for a standard and profile, with the calculation and its justification.

    IAF MD 5: initial time (stage 1 + stage 2) from the family's table by effective personnel
    (EMS and OH&S by complexity), adjustments capped at -30%, half-day rounding, surveillance
    about a third and recertification about two thirds; IAF MD 1 sample sizes for several sites.
    """
    row = await standard_row(standard)
    family, stand_in_sentence = table_family(row.family)
    check_int("effective_personnel", effective_personnel, 1, MAX_PERSONNEL, "Effective personnel")
    check_int("sites", sites, 1, MAX_SITES, "Sites")
    if not math.isfinite(adjustment_pct) or not -100 <= adjustment_pct <= 200:
        raise Invalid.field("adjustment_pct", "Give a percentage between -100 and 200.")
    level = _complexity(complexity, row.code, family, row.uses_complexity)
    result = estimate(family, effective_personnel, level, sites, adjustment_pct)
    table = estimate(family, effective_personnel, level, 1, 0.0).initial_days
    basis: tuple[str, ...] = (f"Standard {row.code} ({row.family}).",)
    if stand_in_sentence:
        basis += (stand_in_sentence,)
    return Baseline(
        standard=row.code,
        family=row.family,
        table_family=family,
        complexity=level,
        estimate=result,
        table_days=table,
        basis=basis + result.basis,
    )


def baseline_out(b: Baseline, effective_personnel: int, sites: int) -> AuditTimeOut:
    """The baseline as the API and the pages show it: days per audit, sample sizes, the basis."""
    e = b.estimate
    return AuditTimeOut(
        standard=b.standard,
        family=b.family,
        table_family=b.table_family.value,
        effective_personnel=effective_personnel,
        complexity=b.complexity.value if b.complexity else None,
        sites=sites,
        table_days=b.table_days,
        initial_days=e.initial_days,
        stage1_days=e.stage1_days,
        stage2_days=e.stage2_days,
        surveillance_days=e.surveillance_days,
        recertification_days=e.recertification_days,
        minimum_initial_days=e.minimum_initial_days,
        cycle_days=e.cycle_days(),
        sampled_sites=SampledSitesOut(
            initial=e.sampled_sites.initial,
            surveillance=e.sampled_sites.surveillance,
            recertification=e.sampled_sites.recertification,
        ),
        basis=list(b.basis),
    )


def planned_days(e: AuditTimeEstimate) -> dict[str, float]:
    """The baseline's days per audit kind, for comparing quote lines with it."""
    return {
        "stage1": e.stage1_days,
        "stage2": e.stage2_days,
        "surveillance1": e.surveillance_days,
        "surveillance2": e.surveillance_days,
        "recertification": e.recertification_days,
    }


async def baseline_for_request(req: dict[str, Any]) -> Baseline:
    return await baseline(
        req["standard"], req["effective_personnel"], req["complexity"], req["sites"]
    )
