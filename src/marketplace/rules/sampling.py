"""IAF MD 1 multi-site sampling: how many sites are visited at each audit of the cycle."""

from __future__ import annotations

from dataclasses import dataclass
from math import isqrt

# IAF MD 1 factors on sqrt(n), as exact fractions so that the square root can be taken in
# integers: 0.6 = 3/5 at surveillance, 0.8 = 4/5 at recertification.
SURVEILLANCE_FACTOR = (3, 5)
RECERTIFICATION_FACTOR = (4, 5)

# Where sampling is not allowed, each surveillance year still visits 30% of the sites.
UNSAMPLED_SURVEILLANCE_FACTOR = (3, 10)


@dataclass(frozen=True)
class SampledSites:
    """Number of sites visited at the initial, each surveillance and the recertification audit."""

    initial: int
    surveillance: int
    recertification: int

    def __post_init__(self) -> None:
        if min(self.initial, self.surveillance, self.recertification) < 1:
            raise ValueError("every audit visits at least one site")


def _ceil_sqrt(k: int) -> int:
    """Smallest integer m with m * m >= k, for k >= 0."""
    return 0 if k == 0 else isqrt(k - 1) + 1


def _ceil_scaled_sqrt(n: int, factor: tuple[int, int]) -> int:
    """ceil(num / den * sqrt(n)) in exact integer arithmetic.

    num * sqrt(n) is sqrt(num² * n); and ceil(x / den) == ceil(ceil(x) / den) for a whole den,
    so no float ever touches the result (0.6 * sqrt(100) is 6, never 6.000000000000001).
    """
    num, den = factor
    return -(-_ceil_sqrt(num * num * n) // den)


def _ceil_fraction(n: int, factor: tuple[int, int]) -> int:
    num, den = factor
    return -(-(num * n) // den)


def _check_sites(number_of_sites: int) -> None:
    if number_of_sites < 1:
        raise ValueError(f"number of sites must be at least 1, got {number_of_sites}")


def sample_sizes(number_of_sites: int) -> SampledSites:
    """Minimum sample of sites per audit where sampling is allowed (IAF MD 1:2023).

    Initial ceil(sqrt(n)), each surveillance ceil(0.6 * sqrt(n)), recertification
    ceil(0.8 * sqrt(n)). These are minimums: the body adds sites for risk. Which sites are
    chosen (the central function always audited, at least 25% of the sample at random) is the
    body's plan, not modelled here. One site is (1, 1, 1).
    """
    _check_sites(number_of_sites)
    return SampledSites(
        initial=_ceil_sqrt(number_of_sites),
        surveillance=_ceil_scaled_sqrt(number_of_sites, SURVEILLANCE_FACTOR),
        recertification=_ceil_scaled_sqrt(number_of_sites, RECERTIFICATION_FACTOR),
    )


def sample_sizes_without_sampling(number_of_sites: int) -> SampledSites:
    """Sites per audit where IAF MD 1 does not allow sampling (e.g. sites doing different work).

    Every site at initial certification and at recertification; each surveillance year visits
    30% of them, rounded up so that a small organisation still has a site visited.
    """
    _check_sites(number_of_sites)
    return SampledSites(
        initial=number_of_sites,
        surveillance=_ceil_fraction(number_of_sites, UNSAMPLED_SURVEILLANCE_FACTOR),
        recertification=number_of_sites,
    )
