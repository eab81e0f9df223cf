"""Public verification: the registry entry of one certificate and the search anyone may run."""

from __future__ import annotations

from typing import Any

import msgspec

from marketplace.certificates.registry import (
    COLUMNS,
    certificate_record,
    certificate_row,
    public_fields,
)
from marketplace.certificates.schemas import CertificateOut, CertificateRecord
from marketplace.certificates.tables import Certificate
from marketplace.core.db import is_postgres
from marketplace.core.errors import Invalid


async def public_out(number: str) -> CertificateOut:
    """The registry fields and current status of a certificate, as anyone may verify them."""
    return msgspec.convert(
        public_fields(await certificate_row(number)), CertificateOut, strict=False
    )


def _contains(column: Any, pattern: str) -> Any:
    # SQLite's LIKE already ignores ASCII case (and Piccolo warns on ilike there).
    return column.ilike(pattern) if is_postgres() else column.like(pattern)


async def search(q: str, limit: int = 50) -> list[CertificateRecord]:
    """Public search by certificate number (exact) or certified organisation name (contains)."""
    q = q.strip()
    if not q:
        return []
    if len(q) > 200:
        raise Invalid.field("q", "Search with at most 200 characters.")
    pattern = "%" + q.replace("\\", "").replace("%", "").replace("_", " ") + "%"
    rows: list[dict[str, Any]] = (
        await Certificate.select(*Certificate.all_columns(), *COLUMNS)
        .where(
            (Certificate.number == q.upper()) | _contains(Certificate.organisation_name, pattern)
        )
        .order_by(Certificate.organisation_name)
        .limit(limit)
        .output(load_json=True)
        .run()
    )
    return [certificate_record(r) for r in rows]
