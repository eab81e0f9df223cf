"""IAF MD 5:2023 audit time (QMS, EMS, OH&S tables; ISO/IEC 27006 Table B.1 for ISMS) in days."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from marketplace.rules.sampling import SampledSites, sample_sizes


class Complexity(StrEnum):
    """IAF MD 5 complexity categories of environmental and OH&S risks."""

    high = "high"
    medium = "medium"
    low = "low"
    limited = "limited"


class Family(StrEnum):
    """Management system families, by the standard they certify against."""

    QMS = "QMS"  # ISO 9001
    EMS = "EMS"  # ISO 14001
    OHSMS = "OHSMS"  # ISO 45001
    ISMS = "ISMS"  # ISO/IEC 27001
    FSMS = "FSMS"  # ISO 22000
    EnMS = "EnMS"  # ISO 50001
    MDQMS = "MDQMS"  # ISO 13485
    ABMS = "ABMS"  # ISO 37001
    ITSMS = "ITSMS"  # ISO/IEC 20000-1


STANDARD = {
    Family.QMS: "ISO 9001",
    Family.EMS: "ISO 14001",
    Family.OHSMS: "ISO 45001",
    Family.ISMS: "ISO/IEC 27001",
    Family.FSMS: "ISO 22000",
    Family.EnMS: "ISO 50001",
    Family.MDQMS: "ISO 13485",
    Family.ABMS: "ISO 37001",
    Family.ITSMS: "ISO/IEC 20000-1",
}


@dataclass(frozen=True)
class AuditTimeRow:
    """One band of effective personnel and its initial audit days (stage 1 + stage 2) per column."""

    personnel_min: int
    personnel_max: int
    qms: float
    ems_high: float
    ems_medium: float
    ems_low: float
    ems_limited: float
    ohs_high: float
    ohs_medium: float
    ohs_low: float
    isms: float

    def days(self, column: str) -> float:
        """Days in ``column`` (a field name such as ``"ems_low"``)."""
        return float(getattr(self, column))


# Copied from seed/audit_time_initial.csv (see seed/SOURCES.md); a unit test keeps the two
# equal. Days are 8-hour auditor days of initial certification, stage 1 and stage 2 together.
# Columns: personnel_min, personnel_max, qms, ems_high, ems_medium, ems_low, ems_limited,
# ohs_high, ohs_medium, ohs_low, isms. The isms column is ISO/IEC 27006 Table B.1, kept as
# indicative: it has not been checked against the standard's text.
INITIAL_AUDIT_TIME: tuple[AuditTimeRow, ...] = (
    AuditTimeRow(1, 5, 1.5, 3.0, 2.5, 2.5, 2.5, 3.0, 2.5, 2.5, 5.0),
    AuditTimeRow(6, 10, 2.0, 3.5, 3.0, 3.0, 3.0, 3.5, 3.0, 3.0, 5.0),
    AuditTimeRow(11, 15, 2.5, 4.5, 3.5, 3.0, 3.0, 4.5, 3.5, 3.0, 6.0),
    AuditTimeRow(16, 25, 3.0, 5.5, 4.5, 3.5, 3.0, 5.5, 4.5, 3.5, 7.0),
    AuditTimeRow(26, 45, 4.0, 7.0, 5.5, 4.0, 3.0, 7.0, 5.5, 4.0, 8.5),
    AuditTimeRow(46, 65, 5.0, 8.0, 6.0, 4.5, 3.5, 8.0, 6.0, 4.5, 10.0),
    AuditTimeRow(66, 85, 6.0, 9.0, 7.0, 5.0, 3.5, 9.0, 7.0, 5.0, 11.0),
    AuditTimeRow(86, 125, 7.0, 11.0, 8.0, 5.5, 4.0, 11.0, 8.0, 5.5, 12.0),
    AuditTimeRow(126, 175, 8.0, 12.0, 9.0, 6.0, 4.5, 12.0, 9.0, 6.0, 13.0),
    AuditTimeRow(176, 275, 9.0, 13.0, 10.0, 7.0, 5.0, 13.0, 10.0, 7.0, 14.0),
    AuditTimeRow(276, 425, 10.0, 15.0, 11.0, 8.0, 5.5, 15.0, 11.0, 8.0, 15.0),
    AuditTimeRow(426, 625, 11.0, 16.0, 12.0, 9.0, 6.0, 16.0, 12.0, 9.0, 16.5),
    AuditTimeRow(626, 875, 12.0, 17.0, 13.0, 10.0, 6.0, 17.0, 13.0, 10.0, 17.5),
    AuditTimeRow(876, 1175, 13.0, 19.0, 15.0, 11.0, 7.0, 19.0, 15.0, 11.0, 18.5),
    AuditTimeRow(1176, 1550, 14.0, 20.0, 16.0, 12.0, 7.5, 20.0, 16.0, 12.0, 19.5),
    AuditTimeRow(1551, 2025, 15.0, 21.0, 17.0, 12.0, 8.0, 21.0, 17.0, 12.0, 21.0),
    AuditTimeRow(2026, 2675, 16.0, 23.0, 18.0, 13.0, 8.5, 23.0, 18.0, 13.0, 22.0),
    AuditTimeRow(2676, 3450, 17.0, 25.0, 19.0, 14.0, 9.0, 25.0, 19.0, 14.0, 23.0),
    AuditTimeRow(3451, 4350, 18.0, 27.0, 20.0, 15.0, 10.0, 27.0, 20.0, 15.0, 24.0),
    AuditTimeRow(4351, 5450, 19.0, 28.0, 21.0, 16.0, 11.0, 28.0, 21.0, 16.0, 25.0),
    AuditTimeRow(5451, 6800, 20.0, 30.0, 23.0, 17.0, 12.0, 30.0, 23.0, 17.0, 26.0),
    AuditTimeRow(6801, 8500, 21.0, 32.0, 25.0, 19.0, 13.0, 32.0, 25.0, 19.0, 27.0),
    AuditTimeRow(8501, 10700, 22.0, 34.0, 27.0, 20.0, 14.0, 34.0, 27.0, 20.0, 28.0),
)

# Past 10700 persons IAF MD 5 only says to follow the table's progression, without a formula.
# Our rule: every further block of 2200 persons (the width of the last band), or part of one,
# adds the step between the last two bands of the same column (QMS +1 day, EMS high +2 ...).
# The table's own bands widen as they go, so a fixed width adds days a little faster than the
# table would: the baseline errs towards more time, never hiding a short quote.
BEYOND_LAST_BAND_PERSONNEL = (
    INITIAL_AUDIT_TIME[-1].personnel_max - INITIAL_AUDIT_TIME[-1].personnel_min + 1
)

# IAF MD 5: all reductions together may not take more than 30% off the table time.
MAX_REDUCTION = 0.30
# The same cap as a whole percentage, the unit adjustments and the basis text are given in.
_MAX_REDUCTION_PCT = round(MAX_REDUCTION * 100)

# Platform defaults, not figures of IAF MD 5 (which leaves them to the body): stage 1 is about
# 30% of the initial time, never under half a day, and stage 2 keeps at least half a day.
STAGE1_SHARE = Decimal("0.3")
MIN_STAGE_DAYS = 0.5

# IAF MD 5 puts surveillance at about 1/3 and recertification at about 2/3 of the initial time.
# A surveillance audit must still cover its fixed agenda (internal audits, management review,
# complaints, corrective actions, changes, use of marks: ISO/IEC 17021-1 9.6.2.2), which bodies
# rarely fit into half a day, so the platform floors both follow-up audits at one day.
MIN_SURVEILLANCE_DAYS = 1.0

_HALF = Decimal("0.5")

_COMPLEXITY_PREFIX = {Family.EMS: "ems", Family.OHSMS: "ohs"}
_OWN_COLUMN = {Family.QMS: "qms", Family.ISMS: "isms"}

# The complexity columns of each IAF MD 5:2023 table (seed/audit_time_initial.csv): the EMS
# table has high, medium, low and limited; the OH&S table stops at low (no limited column).
COMPLEXITY_LEVELS: dict[Family, tuple[Complexity, ...]] = {
    Family.EMS: (Complexity.high, Complexity.medium, Complexity.low, Complexity.limited),
    Family.OHSMS: (Complexity.high, Complexity.medium, Complexity.low),
}

# Platform rule for the families IAF MD 5 gives no audit time for. PIMS (ISO/IEC 27701) is
# only certified as an extension of an ISMS, so the ISMS table is the closer stand-in; business
# continuity, compliance and road traffic safety audits are process audits of QMS-like scope,
# so the QMS table serves as an indicative baseline. The basis text says so every time.
STAND_INS: dict[str, Family] = {
    "PIMS": Family.ISMS,
    "BCMS": Family.QMS,
    "CMS": Family.QMS,
    "RTSMS": Family.QMS,
}


def table_family(family: str) -> tuple[Family, str | None]:
    """The table family for a standard's family, and a plain sentence when it is a stand-in.

    Any family the reference data lists gets an answer: one without an IAF MD 5 basis reads a
    stand-in table (QMS unless STAND_INS names a closer one) as an indicative figure only.
    """
    try:
        return Family(family), None
    except ValueError:
        pass
    stand_in = STAND_INS.get(family, Family.QMS)
    table = "ISO/IEC 27006 ISMS" if stand_in is Family.ISMS else "IAF MD 5:2023 QMS"
    return stand_in, (
        f"IAF MD 5 sets no audit time for {family}: the certification body sets it under its "
        f"own scheme rules. The figures below read the {table} table as an indicative baseline "
        "only, and the sentences below name that table."
    )


def complexity_levels(family: Family) -> tuple[Complexity, ...]:
    """The complexity categories the family's table is split by; empty when it is not split."""
    return COMPLEXITY_LEVELS.get(Family(family), ())


def family_uses_complexity(family: Family) -> bool:
    """True for the families whose IAF MD 5 table is split by complexity (EMS and OH&S)."""
    return bool(complexity_levels(family))


def _column(family: Family, complexity: Complexity | None) -> str:
    family = Family(family)
    prefix = _COMPLEXITY_PREFIX.get(family)
    if prefix is not None:
        levels = complexity_levels(family)
        if complexity is None or complexity not in levels:
            raise ValueError(
                f"{family} ({STANDARD[family]}) audit time depends on the complexity category: "
                f"give one of {', '.join(c.value for c in levels)}"
            )
        return f"{prefix}_{Complexity(complexity).value}"
    return _OWN_COLUMN.get(family, "qms")


def _column_sentence(family: Family, complexity: Complexity | None) -> str:
    family = Family(family)
    standard = STANDARD[family]
    if family in _COMPLEXITY_PREFIX and complexity is not None:
        return (
            f"Initial audit time (stage 1 + stage 2) from the IAF MD 5:2023 {family} table "
            f"({standard}), {Complexity(complexity)} complexity column."
        )
    ignored = "" if complexity is None else " Complexity does not apply and was ignored."
    if family is Family.QMS:
        return (
            "Initial audit time (stage 1 + stage 2) from the IAF MD 5:2023 QMS table "
            f"({standard}).{ignored}"
        )
    if family is Family.ISMS:
        return (
            "Initial audit time (stage 1 + stage 2) from ISO/IEC 27006 Table B.1 "
            f"({standard}), indicative: not verified against the standard's text.{ignored}"
        )
    return (
        f"{family} ({standard}) has no audit time table of its own on the platform: the "
        "certification body sets the time under its own scheme rules. The IAF MD 5:2023 QMS "
        f"table is used as an indicative baseline only.{ignored}"
    )


def _check_personnel(effective_personnel: int) -> None:
    if isinstance(effective_personnel, bool) or not isinstance(effective_personnel, int):
        raise TypeError(f"effective personnel must be a whole number, got {effective_personnel!r}")
    if effective_personnel < 1:
        raise ValueError(f"effective personnel must be at least 1, got {effective_personnel}")


def _fmt(days: float | Decimal) -> str:
    value = Decimal(str(days)).normalize()
    return f"{value:f}"


def _days(days: float | Decimal) -> str:
    return f"{_fmt(days)} day" if days <= 1 else f"{_fmt(days)} days"


def _table_lookup(column: str, effective_personnel: int) -> tuple[float, str]:
    """Table days for ``column`` and a sentence naming the band (or the progression)."""
    _check_personnel(effective_personnel)
    for row in INITIAL_AUDIT_TIME:
        if effective_personnel <= row.personnel_max:
            days = row.days(column)
            return days, (
                f"Effective personnel {effective_personnel} falls in the band "
                f"{row.personnel_min} to {row.personnel_max}: {_days(days)}."
            )
    last, previous = INITIAL_AUDIT_TIME[-1], INITIAL_AUDIT_TIME[-2]
    step = last.days(column) - previous.days(column)
    blocks = -(-(effective_personnel - last.personnel_max) // BEYOND_LAST_BAND_PERSONNEL)
    days = last.days(column) + blocks * step
    return days, (
        f"Effective personnel {effective_personnel} is beyond the last band "
        f"({last.personnel_min} to {last.personnel_max}, {_days(last.days(column))}); following "
        f"the progression, each further {BEYOND_LAST_BAND_PERSONNEL} persons or part of them "
        f"add {_days(step)}: {blocks} x {_fmt(step)} more, so {_days(days)}."
    )


def initial_days(family: Family, effective_personnel: int, complexity: Complexity | None) -> float:
    """Table initial audit time (stage 1 + stage 2, 8-hour days) before any adjustment.

    IAF MD 5:2023 tables: QMS, EMS and OH&S by complexity (``complexity`` is required for
    those two and ignored for the others); ISMS from ISO/IEC 27006 Table B.1. Families without
    a column of their own read the QMS column as an indicative baseline. Beyond 10700 persons
    the last band's step repeats per further 2200 persons (see ``BEYOND_LAST_BAND_PERSONNEL``).
    """
    days, _ = _table_lookup(_column(family, complexity), effective_personnel)
    return days


def _to_decimal(days: float) -> Decimal:
    # Through str() so that 2.3 is read as 2.3, not as its 50-digit binary value; the
    # percentages and thirds are then worked in decimal, where 22.5 x 0.7 is exactly 15.75 and
    # rounds up to 16, whereas floats give 15.749999999999998 and would round down to 15.5.
    if not math.isfinite(days):
        raise ValueError(f"audit time must be a finite number, got {days}")
    return Decimal(str(days))


def _round_half(days: Decimal) -> Decimal:
    if days < 0:
        raise ValueError(f"audit time cannot be negative, got {days}")
    return (days / _HALF).quantize(Decimal(1), rounding=ROUND_HALF_UP) * _HALF


def round_half_day(days: float) -> float:
    """Nearest half day, halves up (IAF MD 5): 2.25 -> 2.5, 2.74 -> 2.5, 2.75 -> 3.0."""
    return float(_round_half(_to_decimal(days)))


def clamp_adjustment(adjustment_pct: float) -> float:
    """The adjustment actually applied: reductions beyond -30% are held at -30% (IAF MD 5)."""
    if not math.isfinite(adjustment_pct):
        raise ValueError(f"adjustment must be a finite percentage, got {adjustment_pct}")
    return max(adjustment_pct, -_MAX_REDUCTION_PCT)


def apply_adjustment(days: float, adjustment_pct: float) -> float:
    """Table days changed by a signed percentage (-20 = 20% less), rounded to the half day.

    IAF MD 5 lets the body adjust for complexity, shifts, outsourcing and the like, but the
    total reduction may not exceed 30%: anything below -30 is clamped to -30. Increases are
    not capped.
    """
    pct = Decimal(str(clamp_adjustment(adjustment_pct)))
    return float(_round_half(_to_decimal(days) * (100 + pct) / 100))


def minimum_initial_days(
    family: Family, effective_personnel: int, complexity: Complexity | None
) -> float:
    """Below-baseline threshold: the table value less the 30% IAF MD 5 cap, to the half day.

    A quote under this figure is below the baseline and should be flagged to the client. The
    half-day rounding can land a little under 70% (1.5 days less 30% is 1.05, so 1 day); that
    is the same figure a maximal reduction through ``apply_adjustment`` gives.
    """
    return apply_adjustment(
        initial_days(family, effective_personnel, complexity), -_MAX_REDUCTION_PCT
    )


def _check_half_days(days: float) -> Decimal:
    value = _to_decimal(days)
    if value != _round_half(value):
        raise ValueError(f"audit time must be rounded to the half day first, got {days}")
    return value


def split_stages(initial: float) -> tuple[float, float]:
    """Stage 1 and stage 2 days of a half-day-rounded initial time; they add up to it exactly.

    Platform rule (IAF MD 5 leaves the split to the body): stage 1 is 30% of the initial time
    rounded to the half day, at least half a day, and stage 2 is the rest, itself at least half
    a day. So 1.5 days split 0.5 + 1, 4 days 1 + 3 and 10 days 3 + 7.
    """
    total = _check_half_days(initial)
    minimum = Decimal(str(MIN_STAGE_DAYS))
    if total < 2 * minimum:
        raise ValueError(f"an initial audit needs at least 1 day for its two stages, got {initial}")
    stage1 = min(max(_round_half(total * STAGE1_SHARE), minimum), total - minimum)
    return float(stage1), float(total - stage1)


def surveillance_days(initial: float) -> float:
    """One surveillance audit: a third of the initial time (IAF MD 5), at least one day."""
    third = _round_half(_check_half_days(initial) / 3)
    return max(float(third), MIN_SURVEILLANCE_DAYS)


def recertification_days(initial: float) -> float:
    """The recertification audit: two thirds of the initial time (IAF MD 5), at least one day.

    The floor is the surveillance one: a recertification is never shorter than a surveillance.
    """
    two_thirds = _round_half(_check_half_days(initial) * 2 / 3)
    return max(float(two_thirds), MIN_SURVEILLANCE_DAYS)


@dataclass(frozen=True)
class AuditTimeEstimate:
    """Audit days for one certification cycle and the sentences that justify them."""

    initial_days: float
    stage1_days: float
    stage2_days: float
    surveillance_days: float
    recertification_days: float
    minimum_initial_days: float
    sampled_sites: SampledSites
    basis: tuple[str, ...]

    def cycle_days(self) -> float:
        """Days over the three-year cycle: initial, two surveillances and the recertification."""
        return self.initial_days + 2 * self.surveillance_days + self.recertification_days


def _adjustment_sentence(table: float, adjustment_pct: float, adjusted: float) -> str:
    applied = clamp_adjustment(adjustment_pct)
    if applied == 0:
        return f"No adjustment; rounded to the nearest half day: {_days(adjusted)}."
    if applied != adjustment_pct:
        head = (
            f"Adjustment of {adjustment_pct:+g}% asked; IAF MD 5 caps reductions at "
            f"{_MAX_REDUCTION_PCT}%, so {applied:+g}% applied"
        )
    else:
        head = f"Adjustment of {applied:+g}% applied"
    exact = Decimal(str(table)) * (100 + Decimal(str(applied))) / 100
    return (
        f"{head}: {_fmt(table)} x {_fmt((100 + Decimal(str(applied))) / 100)} = {_fmt(exact)}, "
        f"rounded to the nearest half day (halves up): {_days(adjusted)}."
    )


def _sampling_sentence(sites: int, sampled: SampledSites) -> str:
    if sites == 1:
        return "Single site: no sampling."
    return (
        f"{sites} sites: the personnel figure is the total effective personnel of all sites and "
        "the time per sampled site is not modelled. IAF MD 1 sample: "
        f"{sampled.initial} sites at initial certification, {sampled.surveillance} per "
        f"surveillance, {sampled.recertification} at recertification."
    )


def estimate(
    family: Family,
    effective_personnel: int,
    complexity: Complexity | None = None,
    sites: int = 1,
    adjustment_pct: float = 0.0,
) -> AuditTimeEstimate:
    """Initial, surveillance and recertification days with their justification (IAF MD 5).

    The table time is adjusted by ``adjustment_pct`` (reductions capped at 30%) and rounded to
    the half day; stage 1/stage 2, surveillance and recertification derive from that (see
    ``split_stages``, ``surveillance_days`` and ``recertification_days``). With several sites
    the personnel is the total effective personnel and the IAF MD 1 sample is reported beside
    the days, not folded into them.
    """
    column = _column(family, complexity)
    table, band_sentence = _table_lookup(column, effective_personnel)
    sampled = sample_sizes(sites)
    initial = apply_adjustment(table, adjustment_pct)
    minimum = apply_adjustment(table, -_MAX_REDUCTION_PCT)
    stage1, stage2 = split_stages(initial)
    surveillance = surveillance_days(initial)
    recertification = recertification_days(initial)
    basis = (
        _column_sentence(family, complexity),
        band_sentence,
        _adjustment_sentence(table, adjustment_pct, initial),
        f"Minimum initial time (table value less the maximum {_MAX_REDUCTION_PCT}% "
        f"reduction, rounded to the half day): {_days(minimum)}; a quote under it is below "
        "the baseline.",
        f"Stage 1 is {_fmt(STAGE1_SHARE * 100)}% of the initial time rounded to the half day, at "
        f"least {_days(MIN_STAGE_DAYS)}, and stage 2 the rest: {_days(stage1)} + "
        f"{_days(stage2)}.",
        f"Surveillance is a third of the initial time per year and recertification two thirds, "
        f"each rounded to the half day and at least {_days(MIN_SURVEILLANCE_DAYS)}: "
        f"{_days(surveillance)} per surveillance, {_days(recertification)} at recertification.",
        _sampling_sentence(sites, sampled),
    )
    return AuditTimeEstimate(
        initial_days=initial,
        stage1_days=stage1,
        stage2_days=stage2,
        surveillance_days=surveillance,
        recertification_days=recertification,
        minimum_initial_days=minimum,
        sampled_sites=sampled,
        basis=basis,
    )
