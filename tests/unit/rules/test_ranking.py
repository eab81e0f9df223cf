"""Unit tests for the Bayesian-average ranking of certification bodies."""

from __future__ import annotations

import pytest

from marketplace.rules.ranking import (
    DEFAULT_PRIOR_WEIGHT,
    bayesian_average,
    pooled_mean,
    rank_key,
)


def test_formula() -> None:
    assert bayesian_average(200, 4.7, 3.5, 10.0) == pytest.approx((10 * 3.5 + 200 * 4.7) / 210)


def test_no_reviews_gives_the_prior_mean() -> None:
    assert bayesian_average(0, 0.0, 3.8, DEFAULT_PRIOR_WEIGHT) == pytest.approx(3.8)


def test_zero_prior_weight_gives_the_plain_mean() -> None:
    assert bayesian_average(3, 4.2, 3.8, 0.0) == pytest.approx(4.2)


def test_many_reviews_converge_on_their_own_mean() -> None:
    assert bayesian_average(10_000, 4.2, 3.0, DEFAULT_PRIOR_WEIGHT) == pytest.approx(4.2, abs=0.01)


@pytest.mark.parametrize("prior_mean", [3.5, 3.75, 4.0])
def test_one_five_star_review_does_not_beat_200_reviews_at_4_7(prior_mean: float) -> None:
    single = bayesian_average(1, 5.0, prior_mean, DEFAULT_PRIOR_WEIGHT)
    established = bayesian_average(200, 4.7, prior_mean, DEFAULT_PRIOR_WEIGHT)
    assert established > single
    assert rank_key(200, 4.7, prior_mean) < rank_key(1, 5.0, prior_mean)


def test_ranking_order_on_a_fixed_data_set() -> None:
    bodies = {
        "no reviews": (0, 0.0),
        "one five-star": (1, 5.0),
        "long record": (200, 4.7),
        "strong record": (50, 4.9),
        "poor record": (12, 2.0),
        "three reviews": (3, 4.0),
    }
    ranked = sorted(bodies, key=lambda name: rank_key(*bodies[name], prior_mean=3.8))
    assert ranked == [
        "strong record",
        "long record",
        "one five-star",
        "three reviews",
        "no reviews",
        "poor record",
    ]


def test_equal_scores_put_the_better_evidenced_body_first() -> None:
    # mean equal to the prior mean gives exactly the prior, whatever the count
    assert rank_key(50, 4.0, 4.0) < rank_key(5, 4.0, 4.0)


def test_pooled_mean_weights_by_review_count() -> None:
    stats = [(200, 4.7), (1, 5.0), (0, 0.0)]
    assert pooled_mean(stats, default=3.5) == pytest.approx((200 * 4.7 + 5.0) / 201)


def test_pooled_mean_without_reviews_is_the_default() -> None:
    assert pooled_mean([], default=3.5) == 3.5
    assert pooled_mean([(0, 0.0)], default=3.5) == 3.5


def test_pooled_mean_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="count"):
        pooled_mean([(-1, 4.0)], default=3.5)


@pytest.mark.parametrize(
    ("count", "prior_weight", "message"),
    [
        (-1, 10.0, "count"),
        (5, -1.0, "prior_weight"),
        (0, 0.0, "undefined"),
    ],
)
def test_bayesian_average_rejects_bad_input(count: int, prior_weight: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bayesian_average(count, 4.0, 3.8, prior_weight)
