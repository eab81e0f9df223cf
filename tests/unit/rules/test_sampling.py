"""Unit tests for the IAF MD 1 multi-site sample sizes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal, localcontext

import pytest

from marketplace.rules.sampling import SampledSites, sample_sizes, sample_sizes_without_sampling


@pytest.mark.parametrize(
    ("sites", "expected"),
    [
        (1, (1, 1, 1)),
        (2, (2, 1, 2)),
        (4, (2, 2, 2)),
        (5, (3, 2, 2)),
        (9, (3, 2, 3)),
        (10, (4, 2, 3)),
        (25, (5, 3, 4)),
        (100, (10, 6, 8)),
    ],
)
def test_sample_sizes(sites: int, expected: tuple[int, int, int]) -> None:
    assert sample_sizes(sites) == SampledSites(*expected)


def _reference(n: int, factor: str) -> int:
    # 50 significant digits leave no room for the float error the module avoids.
    with localcontext() as ctx:
        ctx.prec = 50
        value = Decimal(factor) * Decimal(n).sqrt()
        return int(value.to_integral_value(rounding=ROUND_CEILING))


def test_sample_sizes_match_high_precision_arithmetic() -> None:
    for n in range(1, 5001):
        assert sample_sizes(n) == SampledSites(
            _reference(n, "1"), _reference(n, "0.6"), _reference(n, "0.8")
        ), n


@pytest.mark.parametrize("root", [1, 5, 10, 15, 20, 25, 35, 100, 1000, 10**9 + 7])
def test_perfect_squares_have_no_float_error(root: int) -> None:
    # Where k * sqrt(n) is a whole number the ceiling must not step up to the next site.
    sampled = sample_sizes(root * root)
    assert sampled.initial == root
    assert sampled.surveillance * 5 >= 3 * root > (sampled.surveillance - 1) * 5
    assert sampled.recertification * 5 >= 4 * root > (sampled.recertification - 1) * 5


def test_sample_never_exceeds_the_sites() -> None:
    for n in range(1, 500):
        sampled = sample_sizes(n)
        assert sampled.surveillance <= sampled.recertification <= sampled.initial <= n


@pytest.mark.parametrize(
    ("sites", "expected"),
    [(1, (1, 1, 1)), (2, (2, 1, 2)), (3, (3, 1, 3)), (4, (4, 2, 4)), (10, (10, 3, 10))],
)
def test_without_sampling_visits_every_site_and_30_percent_per_surveillance(
    sites: int, expected: tuple[int, int, int]
) -> None:
    assert sample_sizes_without_sampling(sites) == SampledSites(*expected)


def test_without_sampling_surveillance_rounds_up() -> None:
    assert sample_sizes_without_sampling(11).surveillance == 4
    assert sample_sizes_without_sampling(100).surveillance == 30
    assert sample_sizes_without_sampling(101).surveillance == 31


@pytest.mark.parametrize("sites", [0, -1, -100])
@pytest.mark.parametrize("function", [sample_sizes, sample_sizes_without_sampling])
def test_fewer_than_one_site_is_refused(
    function: Callable[[int], SampledSites], sites: int
) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        function(sites)


def test_sampled_sites_is_frozen_and_positive() -> None:
    sampled = sample_sizes(4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sampled.initial = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="at least one site"):
        SampledSites(1, 0, 1)
