"""Wires every domain's notification hooks (action listeners, attachments, sweeps) into the outbox."""

from __future__ import annotations


def install() -> None:
    """Idempotent: the app factory and the worker command both call it."""
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
