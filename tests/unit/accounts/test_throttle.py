"""The sign-in throttle's rule on its own: free attempts, a doubling delay, forgetting after quiet."""

from __future__ import annotations

import datetime as dt

from marketplace.accounts import throttle
from marketplace.accounts.passwords import is_blank, password_problem

T0 = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
LIMIT = throttle.ACCOUNT


def test_free_attempts_then_a_doubling_delay_refusing_everything_meanwhile() -> None:
    state = throttle.State()
    for _ in range(LIMIT.free_attempts):
        decision = throttle.reserve(LIMIT, state, T0)
        assert decision.allowed
        state = decision.state
    refused = throttle.reserve(LIMIT, state, T0 + dt.timedelta(seconds=1))
    assert not refused.allowed
    assert refused.state == state, "a refused attempt is not counted"
    assert refused.wait == LIMIT.base_delay - dt.timedelta(seconds=1)
    later = throttle.reserve(LIMIT, state, T0 + LIMIT.base_delay)
    assert later.allowed
    assert later.state.blocked_until == T0 + LIMIT.base_delay + 2 * LIMIT.base_delay


def test_delay_is_capped_and_a_quiet_window_forgets() -> None:
    state = throttle.State(500, T0, T0 + dt.timedelta(seconds=1))
    decision = throttle.reserve(LIMIT, state, T0 + dt.timedelta(seconds=2))
    assert decision.state.blocked_until == T0 + dt.timedelta(seconds=2) + LIMIT.max_delay
    quiet = throttle.reserve(LIMIT, state, T0 + dt.timedelta(seconds=1) + LIMIT.window)
    assert quiet.allowed
    assert quiet.state == throttle.State(1, T0 + dt.timedelta(seconds=1) + LIMIT.window, None)


def test_refund_gives_back_one_attempt() -> None:
    state = throttle.State(LIMIT.free_attempts, T0, T0 + LIMIT.base_delay)
    assert throttle.refund(LIMIT, state) == throttle.State(LIMIT.free_attempts - 1, T0, None)
    assert throttle.refund(LIMIT, throttle.State()) == throttle.State()


def test_retry_after_rounds_up() -> None:
    assert throttle.seconds(dt.timedelta(milliseconds=10)) == 1
    assert throttle.seconds(dt.timedelta(seconds=2.2)) == 3


def test_blank_and_invisible_passwords_are_weak() -> None:
    for blank in (" " * 12, "\t" * 9, "\u200b" * 10, "\u00a0\u3000\u2003 \ufeff\u200d" * 2, ""):
        assert is_blank(blank)
        assert password_problem(blank) is not None
    assert password_problem("  a passphrase with spaces  ") is None
