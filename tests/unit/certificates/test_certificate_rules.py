"""Pure certificate rules: number prefixes, status read against the expiry date, registry fields."""

from __future__ import annotations

import datetime as dt

import pytest

from marketplace.certificates.issuing import number_prefix
from marketplace.certificates.registry import effective_status, registry_fields


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("Northbridge Certification", "NC"),
        ("Body A Certification", "BAC"),
        ("Société Générale de Surveillance Group Ltd", "SGDS"),
        ("Kiwa", "KIW"),
        ("123", "CB"),
    ],
)
def test_number_prefix(name: str, prefix: str) -> None:
    assert number_prefix(name) == prefix


def test_effective_status_expires_on_read() -> None:
    expires = dt.date(2029, 3, 14)
    row = {"status": "active", "expires_on": expires}
    assert effective_status(row, expires) == "active"
    assert effective_status(row, expires + dt.timedelta(days=1)) == "expired"
    assert (
        effective_status({**row, "status": "suspended"}, expires + dt.timedelta(days=1))
        == "expired"
    )
    assert (
        effective_status({**row, "status": "withdrawn"}, expires + dt.timedelta(days=1))
        == "withdrawn"
    )


def test_registry_fields_leave_internal_ids_out() -> None:
    row = {
        "id": "internal",
        "organisation": "internal-org-id",
        "number": "NC-2026-000001",
        "effective_status": "active",
        "organisation_name": "Acme",
        "organisation_address": "1 High St",
        "body_name": "Northbridge Certification",
        "accreditation_body": "UKAS",
        "accreditation_body_name": "United Kingdom Accreditation Service",
        "standard": "ISO 9001:2015",
        "scope": "Parts",
        "iaf_sectors": [17],
        "sites": [],
        "original_issued_on": dt.date(2026, 1, 1),
        "issued_on": dt.date(2026, 1, 1),
        "expires_on": dt.date(2028, 12, 31),
    }
    fields = registry_fields(row)
    assert "id" not in fields
    assert fields["organisation"] == "Acme"
    assert fields["status"] == "active"
