"""Wires every domain's notification hooks (action listeners, attachments, sweeps) into the outbox.

Every entry point calls `install()`: `create_app` (so `serve`, its worker processes and tests) and
`marketplace.cli.main` before it dispatches to any command. A command that writes through the
services (reconcile-payments recording a payment, createadmin, seed ...) therefore writes the
same e-mails the web application would; without it the cause commits and nobody is told.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    """Idempotent: every entry point calls it (registering a hook twice is a no-op)."""
    from marketplace.billing import notifications_hooks as billing
    from marketplace.calendars import notifications_hooks as calendars
    from marketplace.certificates import notifications_hooks as certificates
    from marketplace.findings import notifications_hooks as findings
    from marketplace.notifications import services as notifications
    from marketplace.quotes import notifications_hooks as quotes
    from marketplace.readiness import notifications_hooks as readiness
    from marketplace.scheduling import notifications_hooks as scheduling

    for module in (
        notifications,
        quotes,
        scheduling,
        calendars,
        findings,
        certificates,
        billing,
        readiness,
    ):
        module.install()


def wiring() -> dict[str, Any]:
    """What this process has wired, by name: action listeners, attachment providers and sweeps
    (tests compare it between entry points)."""
    from marketplace.core import activity
    from marketplace.notifications import worker

    def name(fn: Any) -> str:
        return f"{fn.__module__}.{fn.__qualname__}"

    return {
        "actions": {
            action: sorted(name(fn) for fn in listeners)
            for action, listeners in sorted(activity.listeners().items())
            if listeners
        },
        "attachments": sorted(worker.registered_attachments()),
        "sweeps": sorted(s.name for s in worker.registered_sweeps()),
    }
