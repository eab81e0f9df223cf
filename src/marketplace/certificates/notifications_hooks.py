"""Certificate e-mails to the client: suspended (at once), at risk and expiring (a periodic sweep)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from marketplace.accounts.roles import TenantKind
from marketplace.certificates.registry import effective_status, risk_flags
from marketplace.certificates.tables import Certificate
from marketplace.core import clock
from marketplace.core.activity import ActionEntry, on_action
from marketplace.notifications.services import members_with_roles, notify
from marketplace.notifications.worker import register_sweep
from marketplace.settings import Settings

CLIENT_RECIPIENTS = ("owner", "quality_manager")
# Recertification must be decided before expiry (ISO/IEC 17021-1 9.6.3); 90 days leaves time to audit.
EXPIRY_NOTICE = dt.timedelta(days=90)
SWEEP_INTERVAL = dt.timedelta(hours=6)

_COLUMNS = (
    Certificate.id,
    Certificate.number,
    Certificate.status,
    Certificate.cycle,
    Certificate.organisation,
    Certificate.organisation_name,
    Certificate.issued_on,
    Certificate.expires_on,
    Certificate.standard,
    Certificate.body._.name.as_alias("body_name"),
)


def _data(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "certificate_id": str(row["id"]),
        "number": row["number"],
        "standard": row["standard"],
        "organisation": row["organisation_name"],
        "body_name": row["body_name"],
        "path": f"/certificates/{row['number']}",
        **extra,
    }


async def _suspended(entry: ActionEntry) -> None:
    row = (
        await Certificate.select(*_COLUMNS)
        .where(Certificate.id == uuid.UUID(entry.entity_id))
        .first()
        .run()
    )
    if row is None:
        return
    await notify(
        "certificate_status",
        template="certificate_suspended",
        user_ids=await members_with_roles(
            TenantKind.organisation, row["organisation"], CLIENT_RECIPIENTS
        ),
        data=_data(row, reason=entry.data.get("reason", "")),
    )


async def certificate_sweep(_: Settings) -> int:
    """At risk: a required surveillance is missed (ISO/IEC 17021-1 9.6.5, rules.cycle); expiring:
    within 90 days of expiry. Each is sent once per certificate and cycle year / expiry date."""
    today = clock.today()
    rows = (
        await Certificate.select(*_COLUMNS)
        .where((Certificate.status == "active") & (Certificate.expires_on >= today))
        .run()
    )
    flags = await risk_flags([(r["cycle"], effective_status(r, today)) for r in rows])
    written = 0
    for r, risky in zip(rows, flags, strict=True):
        users = await members_with_roles(
            TenantKind.organisation, r["organisation"], CLIENT_RECIPIENTS
        )
        if risky:
            year = (today - r["issued_on"]).days // 365
            written += await notify(
                "certificate_status",
                template="certificate_at_risk",
                user_ids=users,
                dedupe_key=f"certificate_at_risk:{r['id']}:{r['issued_on']}:{year}",
                data=_data(r),
            )
        if r["expires_on"] - today <= EXPIRY_NOTICE:
            written += await notify(
                "certificate_status",
                template="certificate_expiring",
                user_ids=users,
                dedupe_key=f"certificate_expiring:{r['id']}:{r['expires_on']}",
                data=_data(
                    r,
                    expires_on=r["expires_on"].isoformat(),
                    days_left=(r["expires_on"] - today).days,
                ),
            )
    return written


def install() -> None:
    on_action("marketplace.certificate.suspended", _suspended)
    register_sweep("certificate_status", SWEEP_INTERVAL, certificate_sweep)
