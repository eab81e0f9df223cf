"""The sign-in throttle's rule: a few free attempts per key, then a delay that doubles per attempt.

NIST SP 800-63B 5.2.2 (rate limiting of failed authentication attempts) and OWASP ASVS 5.0 V6.3
(anti-automation on authentication, per account and per source). The rule is pure: the service
reads the key's row under a lock, asks `reserve`, and writes back what it answers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    free_attempts: int  # attempts judged freely inside the window
    window: dt.timedelta  # this long without attempts (after any delay) forgets the count
    base_delay: dt.timedelta  # the wait after the last free attempt; doubles with each further one
    max_delay: dt.timedelta


# One account: 5 guesses, then 30 s, 1 min, 2 min ... up to 15 minutes (OWASP authentication
# cheat sheet); a guesser gets a few dozen tries a day, a person who mistyped waits half a minute.
ACCOUNT = Limit(5, dt.timedelta(minutes=15), dt.timedelta(seconds=30), dt.timedelta(minutes=15))
# One client address across accounts: enough for an office behind one NAT address, far too few for
# spraying one password over many accounts.
ADDRESS = Limit(20, dt.timedelta(minutes=15), dt.timedelta(seconds=30), dt.timedelta(minutes=15))


@dataclass(frozen=True)
class State:
    attempts: int = 0
    last_attempt_at: dt.datetime | None = None
    blocked_until: dt.datetime | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    state: State  # what to store (unchanged when refused: a refused attempt costs nothing)
    wait: dt.timedelta = dt.timedelta(0)  # when refused: how long until the next attempt is judged


def reserve(limit: Limit, state: State, now: dt.datetime) -> Decision:
    """Count one attempt before its password is checked, so attempts in flight count as well.

    While a delay runs every attempt, the right password too, is refused. An admitted attempt past
    the free ones starts the next delay at once (it is counted as failed until it succeeds).
    """
    if state.blocked_until is not None and state.blocked_until > now:
        return Decision(False, state, state.blocked_until - now)
    quiet_since = state.blocked_until or state.last_attempt_at
    attempts = state.attempts
    if quiet_since is None or now - quiet_since >= limit.window:
        attempts = 0
    attempts += 1
    blocked_until = None
    if attempts >= limit.free_attempts:
        extra = attempts - limit.free_attempts
        delay = (
            limit.max_delay if extra >= 20 else min(limit.base_delay * 2**extra, limit.max_delay)
        )
        blocked_until = now + delay
    return Decision(True, State(attempts, now, blocked_until))


def refund(limit: Limit, state: State) -> State:
    """Give back the attempt a successful sign-in reserved (for keys a success does not clear)."""
    attempts = max(0, state.attempts - 1)
    blocked = state.blocked_until if attempts >= limit.free_attempts else None
    return State(attempts, state.last_attempt_at, blocked)


def seconds(wait: dt.timedelta) -> int:
    """A Retry-After value: whole seconds, rounded up, at least one."""
    return max(1, int(wait.total_seconds() + 0.999))
