"""Ranking certification bodies by review rating with a Bayesian average."""

from __future__ import annotations

from collections.abc import Iterable

# How many "virtual" reviews at the prior mean every body starts with: enough that a handful
# of reviews cannot outrank a long, consistent record, few enough that a real record soon wins.
DEFAULT_PRIOR_WEIGHT = 10.0


def bayesian_average(count: int, mean: float, prior_mean: float, prior_weight: float) -> float:
    """Review mean shrunk towards a prior: (w * prior_mean + count * mean) / (w + count).

    A platform rule, not one from the standards; ``w`` is ``prior_weight``. A plain mean lets
    one 5-star review beat 200 reviews averaging 4.7. Blending each body's reviews with
    ``prior_weight`` virtual reviews at ``prior_mean`` (usually the platform-wide mean) pulls
    thin records towards the middle, and a body earns its own score only as its reviews
    accumulate. With no reviews the result is the prior mean.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    if prior_weight < 0:
        raise ValueError("prior_weight must not be negative")
    if count == 0 and prior_weight == 0:
        raise ValueError("no reviews and no prior: the average is undefined")
    return (prior_weight * prior_mean + count * mean) / (prior_weight + count)


def pooled_mean(stats: Iterable[tuple[int, float]], default: float) -> float:
    """Mean of all reviews from ``(count, mean)`` per body; ``default`` when there are none.

    This is the natural ``prior_mean`` for ``bayesian_average``: what an unknown body is worth
    before its own reviews say otherwise.
    """
    total = 0
    weighted = 0.0
    for count, mean in stats:
        if count < 0:
            raise ValueError("count must not be negative")
        total += count
        weighted += count * mean
    return weighted / total if total else default


def rank_key(
    count: int,
    mean: float,
    prior_mean: float,
    prior_weight: float = DEFAULT_PRIOR_WEIGHT,
) -> tuple[float, int]:
    """Sort key putting the best-rated body first when sorted ascending (platform rule).

    Orders by ``bayesian_average`` (highest first), then by review count (more first) so that
    of two equal scores the better-evidenced one leads.
    """
    return (-bayesian_average(count, mean, prior_mean, prior_weight), -count)
