"""Unit tests for the IAF MD 5 audit time rules."""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Callable
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import pytest

from marketplace.rules import audit_time
from marketplace.rules.audit_time import (
    BEYOND_LAST_BAND_PERSONNEL,
    INITIAL_AUDIT_TIME,
    MAX_REDUCTION,
    AuditTimeRow,
    Complexity,
    Family,
    apply_adjustment,
    clamp_adjustment,
    estimate,
    family_uses_complexity,
    initial_days,
    minimum_initial_days,
    recertification_days,
    round_half_day,
    split_stages,
    surveillance_days,
)
from marketplace.rules.sampling import sample_sizes

CSV_PATH = Path(__file__).parents[3] / "seed" / "audit_time_initial.csv"

with CSV_PATH.open(newline="", encoding="utf-8") as handle:
    _reader = csv.DictReader(handle)
    CSV_HEADER = list(_reader.fieldnames or [])
    CSV_ROWS = list(_reader)

# Every column of the table and the (family, complexity) that reads it.
COLUMNS: dict[str, tuple[Family, Complexity | None]] = {
    "qms": (Family.QMS, None),
    "ems_high": (Family.EMS, Complexity.high),
    "ems_medium": (Family.EMS, Complexity.medium),
    "ems_low": (Family.EMS, Complexity.low),
    "ems_limited": (Family.EMS, Complexity.limited),
    "ohs_high": (Family.OHSMS, Complexity.high),
    "ohs_medium": (Family.OHSMS, Complexity.medium),
    "ohs_low": (Family.OHSMS, Complexity.low),
    "isms": (Family.ISMS, None),
}

FAMILIES_ON_QMS_BASELINE = [Family.FSMS, Family.EnMS, Family.MDQMS, Family.ABMS, Family.ITSMS]

BAND_EDGES = [
    pytest.param(*COLUMNS[column], int(row[edge]), float(row[column]), id=f"{column}-{row[edge]}")
    for row in CSV_ROWS
    for column in COLUMNS
    for edge in ("personnel_min", "personnel_max")
]


def _exact_minimum(table_days: str) -> Fraction:
    # Independent of the module: 70% of the table in fractions, halves rounded up.
    seventy_percent = Fraction(table_days) * Fraction(7, 10)
    return Fraction(math.floor(seventy_percent * 2 + Fraction(1, 2)), 2)


# --- the table ------------------------------------------------------------------------------


def test_embedded_table_equals_the_seed_csv() -> None:
    assert [f.name for f in dataclasses.fields(AuditTimeRow)] == CSV_HEADER
    from_csv = tuple(
        AuditTimeRow(
            int(row["personnel_min"]),
            int(row["personnel_max"]),
            *(float(row[name]) for name in CSV_HEADER[2:]),
        )
        for row in CSV_ROWS
    )
    assert from_csv == INITIAL_AUDIT_TIME


def test_columns_cover_the_whole_csv() -> None:
    assert set(COLUMNS) == set(CSV_HEADER[2:])


def test_bands_are_contiguous_from_one() -> None:
    assert INITIAL_AUDIT_TIME[0].personnel_min == 1
    for previous, row in pairwise(INITIAL_AUDIT_TIME):
        assert row.personnel_min == previous.personnel_max + 1
        assert row.personnel_min <= row.personnel_max


@pytest.mark.parametrize(("family", "complexity", "personnel", "expected"), BAND_EDGES)
def test_every_band_edge(
    family: Family, complexity: Complexity | None, personnel: int, expected: float
) -> None:
    assert initial_days(family, personnel, complexity) == expected


@pytest.mark.parametrize("family", FAMILIES_ON_QMS_BASELINE)
def test_families_without_a_column_read_the_qms_column(family: Family) -> None:
    for row in INITIAL_AUDIT_TIME:
        assert initial_days(family, row.personnel_min, None) == row.qms
        assert initial_days(family, row.personnel_max, Complexity.high) == row.qms
    basis = " ".join(estimate(family, 30).basis)
    assert "QMS table is used as an indicative baseline" in basis
    assert str(family) in basis


def test_only_ems_and_ohs_use_complexity() -> None:
    assert {f for f in Family if family_uses_complexity(f)} == {Family.EMS, Family.OHSMS}


@pytest.mark.parametrize("family", [Family.QMS, Family.ISMS])
def test_complexity_is_ignored_where_it_does_not_apply(family: Family) -> None:
    plain = initial_days(family, 30, None)
    assert all(initial_days(family, 30, c) == plain for c in Complexity)
    assert "Complexity does not apply" in " ".join(estimate(family, 30, Complexity.low).basis)


@pytest.mark.parametrize("family", [Family.EMS, Family.OHSMS])
def test_ems_and_ohs_require_a_complexity(family: Family) -> None:
    with pytest.raises(ValueError, match="complexity category"):
        initial_days(family, 30, None)
    with pytest.raises(ValueError, match="complexity category"):
        estimate(family, 30)


def test_family_and_complexity_accept_their_string_values() -> None:
    assert initial_days(Family("EMS"), 30, Complexity("low")) == 4.0
    with pytest.raises(ValueError, match="XMS"):
        Family("XMS")


@pytest.mark.parametrize("personnel", [0, -1, -100])
def test_personnel_below_one_is_refused(personnel: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        initial_days(Family.QMS, personnel, None)
    with pytest.raises(ValueError, match="at least 1"):
        estimate(Family.QMS, personnel)


@pytest.mark.parametrize("personnel", [5.5, True, "30"])
def test_personnel_must_be_a_whole_number(personnel: object) -> None:
    with pytest.raises(TypeError, match="whole number"):
        initial_days(Family.QMS, personnel, None)  # type: ignore[arg-type]


# --- beyond the last band -------------------------------------------------------------------


def test_beyond_last_band_block_is_the_last_band_width() -> None:
    assert BEYOND_LAST_BAND_PERSONNEL == 10700 - 8501 + 1 == 2200


@pytest.mark.parametrize(
    ("personnel", "expected"),
    [(10700, 22.0), (10701, 23.0), (12900, 23.0), (12901, 24.0), (15100, 24.0), (15101, 25.0)],
)
def test_qms_beyond_last_band_adds_a_day_per_2200_persons(personnel: int, expected: float) -> None:
    assert initial_days(Family.QMS, personnel, None) == expected


@pytest.mark.parametrize("column", list(COLUMNS))
def test_beyond_last_band_repeats_the_last_step_of_each_column(column: str) -> None:
    family, complexity = COLUMNS[column]
    last, previous = float(CSV_ROWS[-1][column]), float(CSV_ROWS[-2][column])
    step = last - previous
    assert step > 0
    for blocks in (1, 2, 5, 100):
        first = 10700 + (blocks - 1) * 2200 + 1
        final = 10700 + blocks * 2200
        assert initial_days(family, first, complexity) == last + blocks * step
        assert initial_days(family, final, complexity) == last + blocks * step


def test_ems_high_beyond_last_band() -> None:
    assert initial_days(Family.EMS, 10701, Complexity.high) == 36.0
    assert initial_days(Family.EMS, 13000, Complexity.high) == 38.0


@pytest.mark.parametrize("column", list(COLUMNS))
def test_audit_time_never_decreases_with_personnel(column: str) -> None:
    family, complexity = COLUMNS[column]
    previous = 0.0
    for personnel in range(1, 30_000, 13):
        days = initial_days(family, personnel, complexity)
        assert days >= previous, personnel
        previous = days


def test_basis_explains_the_progression() -> None:
    basis = estimate(Family.QMS, 15_000).basis
    assert "beyond the last band (8501 to 10700, 22 days)" in basis[1]
    assert "2200" in basis[1]
    assert basis[1].endswith("so 24 days.")


# --- rounding and adjustment ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0.0, 0.0),
        (0.24, 0.0),
        (0.25, 0.5),
        (1.0, 1.0),
        (1.05, 1.0),
        (1.5 * 0.7, 1.0),
        (1.75, 2.0),
        (2.5 * 0.7, 2.0),
        (2.24, 2.0),
        (2.25, 2.5),
        (2.5, 2.5),
        (2.74, 2.5),
        (2.75, 3.0),
        (3.2, 3.0),
        (13.2, 13.0),
        (21.7, 21.5),
        (100.75, 101.0),
    ],
)
def test_round_half_day(days: float, expected: float) -> None:
    assert round_half_day(days) == expected


@pytest.mark.parametrize("days", [-0.5, -0.01, math.nan, math.inf, -math.inf])
def test_round_half_day_refuses_negative_and_non_finite(days: float) -> None:
    with pytest.raises(ValueError, match="audit time"):
        round_half_day(days)


def test_max_reduction_is_30_percent() -> None:
    assert MAX_REDUCTION == 0.30


@pytest.mark.parametrize(
    ("pct", "expected"),
    [
        (-100.0, -30.0),
        (-50.0, -30.0),
        (-30.5, -30.0),
        (-30.0, -30.0),
        (-29.5, -29.5),
        (0.0, 0.0),
        (10.0, 10.0),
        (250.0, 250.0),
    ],
)
def test_clamp_adjustment(pct: float, expected: float) -> None:
    assert clamp_adjustment(pct) == expected


@pytest.mark.parametrize(
    ("days", "pct", "expected"),
    [
        (4.0, 0.0, 4.0),
        (4.0, -20.0, 3.0),  # 3.2
        (4.0, -30.0, 3.0),  # 2.8
        (4.0, -50.0, 3.0),  # clamped to -30: 2.8, not 2.0
        (10.0, -31.0, 7.0),
        (10.0, -50.0, 7.0),
        (10.0, -100.0, 7.0),
        (10.0, 10.0, 11.0),
        (10.0, 100.0, 20.0),  # increases are not capped
        (12.0, 10.0, 13.0),  # 13.2
        (2.5, -30.0, 2.0),  # 1.75, a half rounded up
        (1.5, -30.0, 1.0),  # 1.05
        (5.0, -15.0, 4.5),  # 4.25, a half rounded up
        (22.5, -30.0, 16.0),  # exactly 15.75; floats would make it 15.749999999999998
        (25.0, 15.0, 29.0),  # exactly 28.75; floats would make it 28.749999999999996
    ],
)
def test_apply_adjustment(days: float, pct: float, expected: float) -> None:
    assert apply_adjustment(days, pct) == expected


@pytest.mark.parametrize("pct", [math.nan, math.inf, -math.inf])
def test_apply_adjustment_refuses_non_finite(pct: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        apply_adjustment(4.0, pct)


@pytest.mark.parametrize(
    ("family", "complexity", "personnel", "table"),
    [
        pytest.param(*COLUMNS[column], int(row["personnel_min"]), row[column], id=column)
        for row in CSV_ROWS
        for column in COLUMNS
    ],
)
def test_minimum_is_table_less_30_percent_rounded(
    family: Family, complexity: Complexity | None, personnel: int, table: str
) -> None:
    assert minimum_initial_days(family, personnel, complexity) == _exact_minimum(table)


def test_minimum_examples() -> None:
    assert minimum_initial_days(Family.QMS, 30, None) == 3.0  # 4 x 0.7 = 2.8
    assert minimum_initial_days(Family.QMS, 13, None) == 2.0  # 2.5 x 0.7 = 1.75
    assert minimum_initial_days(Family.EMS, 30, Complexity.high) == 5.0  # 7 x 0.7 = 4.9


# --- stage split, surveillance and recertification ------------------------------------------


HALF_DAYS = [n / 2 for n in range(2, 121)]


@pytest.mark.parametrize(
    ("initial", "stage1", "stage2"),
    [
        (1.0, 0.5, 0.5),
        (1.5, 0.5, 1.0),
        (2.0, 0.5, 1.5),
        (2.5, 1.0, 1.5),  # 0.75 rounds up
        (3.0, 1.0, 2.0),
        (4.0, 1.0, 3.0),
        (5.0, 1.5, 3.5),
        (10.0, 3.0, 7.0),
        (22.0, 6.5, 15.5),
    ],
)
def test_split_stages_examples(initial: float, stage1: float, stage2: float) -> None:
    assert split_stages(initial) == (stage1, stage2)


def test_split_stages_sums_to_initial_exactly() -> None:
    for initial in HALF_DAYS:
        stage1, stage2 = split_stages(initial)
        assert stage1 + stage2 == initial
        assert stage1 >= 0.5
        assert stage2 >= 0.5
        assert stage1 * 2 == int(stage1 * 2)
        assert stage1 <= stage2
        assert abs(stage1 - 0.3 * initial) <= 0.25 or stage1 == 0.5


@pytest.mark.parametrize("initial", [0.0, 0.5])
def test_split_stages_needs_a_day(initial: float) -> None:
    with pytest.raises(ValueError, match="at least 1 day"):
        split_stages(initial)


@pytest.mark.parametrize("function", [split_stages, surveillance_days, recertification_days])
def test_follow_up_rules_need_a_rounded_initial_time(function: Callable[[float], object]) -> None:
    with pytest.raises(ValueError, match="rounded to the half day"):
        function(2.3)


@pytest.mark.parametrize(
    ("initial", "surveillance", "recertification"),
    [
        (1.0, 1.0, 1.0),  # both floored: 0.33 and 0.67
        (1.5, 1.0, 1.0),  # surveillance floored from 0.5
        (3.0, 1.0, 2.0),
        (4.0, 1.5, 2.5),  # 1.33 and 2.67
        (4.5, 1.5, 3.0),
        (7.5, 2.5, 5.0),
        (10.0, 3.5, 6.5),  # 3.33 and 6.67
        (22.0, 7.5, 14.5),
    ],
)
def test_surveillance_and_recertification(
    initial: float, surveillance: float, recertification: float
) -> None:
    assert surveillance_days(initial) == surveillance
    assert recertification_days(initial) == recertification


def test_follow_up_audits_track_a_third_and_two_thirds() -> None:
    for initial in HALF_DAYS:
        surveillance, recert = surveillance_days(initial), recertification_days(initial)
        assert 1.0 <= surveillance <= recert <= max(initial, 1.0)
        assert surveillance == max(1.0, round_half_day(initial / 3))
        assert recert == max(1.0, round_half_day(initial * 2 / 3))


# --- the estimate ---------------------------------------------------------------------------


def test_estimate_single_site_qms() -> None:
    result = estimate(Family.QMS, 30)
    assert result.initial_days == 4.0
    assert (result.stage1_days, result.stage2_days) == (1.0, 3.0)
    assert result.surveillance_days == 1.5
    assert result.recertification_days == 2.5
    assert result.minimum_initial_days == 3.0
    assert result.sampled_sites == sample_sizes(1)
    assert result.cycle_days() == 4.0 + 2 * 1.5 + 2.5
    assert result.basis[0].startswith("Initial audit time (stage 1 + stage 2) from the IAF MD 5")
    assert "band 26 to 45: 4 days" in result.basis[1]
    assert "No adjustment" in result.basis[2]
    assert "Single site" in result.basis[-1]


def test_estimate_reduction_is_capped_and_said_so() -> None:
    result = estimate(Family.EMS, 30, Complexity.high, adjustment_pct=-50)
    assert result.initial_days == result.minimum_initial_days == 5.0  # 7 x 0.7 = 4.9
    assert "-50% asked" in result.basis[2]
    assert "caps reductions at 30%" in result.basis[2]
    assert "-30% applied" in result.basis[2]
    assert "rounded to the nearest half day" in result.basis[2]


def test_estimate_increase() -> None:
    result = estimate(Family.ISMS, 100, adjustment_pct=10)
    assert result.initial_days == 13.0  # 12 x 1.1 = 13.2
    assert "27006" in result.basis[0]
    assert "indicative" in result.basis[0]
    assert "+10% applied: 12 x 1.1 = 13.2" in result.basis[2]


def test_estimate_multi_site_reports_sampling_separately() -> None:
    single, multi = estimate(Family.QMS, 200), estimate(Family.QMS, 200, sites=10)
    assert multi.sampled_sites == sample_sizes(10)
    assert multi.initial_days == single.initial_days
    assert "total effective personnel" in multi.basis[-1]
    assert "not modelled" in multi.basis[-1]
    assert "4 sites at initial certification" in multi.basis[-1]


def test_estimate_refuses_zero_sites() -> None:
    with pytest.raises(ValueError, match="sites"):
        estimate(Family.QMS, 30, sites=0)


@pytest.mark.parametrize("column", list(COLUMNS))
@pytest.mark.parametrize("pct", [-100.0, -30.0, -12.5, 0.0, 7.0, 40.0])
def test_estimate_is_consistent(column: str, pct: float) -> None:
    family, complexity = COLUMNS[column]
    for personnel in (1, 26, 700, 10700, 20_000):
        result = estimate(family, personnel, complexity, adjustment_pct=pct)
        assert result.stage1_days + result.stage2_days == result.initial_days
        assert result.initial_days >= result.minimum_initial_days
        assert result.initial_days == apply_adjustment(
            initial_days(family, personnel, complexity), pct
        )
        assert result.minimum_initial_days == minimum_initial_days(family, personnel, complexity)
        assert len(result.basis) == 7
        assert all(sentence.endswith(".") for sentence in result.basis)


def test_estimate_is_frozen() -> None:
    result = estimate(Family.QMS, 30)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.initial_days = 1.0  # type: ignore[misc]


def test_each_complexity_table_reads_only_its_own_columns() -> None:
    assert audit_time.complexity_levels(Family.OHSMS) == (
        Complexity.high,
        Complexity.medium,
        Complexity.low,
    )
    assert Complexity.limited in audit_time.complexity_levels(Family.EMS)
    assert audit_time.complexity_levels(Family.QMS) == ()
    with pytest.raises(ValueError, match=r"high, medium, low$"):
        audit_time.initial_days(Family.OHSMS, 50, Complexity.limited)


@pytest.mark.parametrize("family", ["BCMS", "CMS", "PIMS", "RTSMS", "XYZ"])
def test_families_without_md5_basis_say_the_body_sets_the_time(family: str) -> None:
    table, sentence = audit_time.table_family(family)
    assert table in (Family.QMS, Family.ISMS)
    assert sentence is not None
    assert "the certification body sets it" in sentence
