"""Directory tables: what a body serves (languages, regions, services) beside its tenant row in accounts."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, OnDelete, Varchar
from piccolo.table import Table

from marketplace.accounts.tables import CertificationBody
from marketplace.reference.tables import SupportService


class BodyLanguage(Table):
    id = UUID(primary_key=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, index=True)
    language = Varchar(length=8, index=True)  # ISO 639-1, e.g. "en"


class BodyRegion(Table):
    """A country (ISO 3166-1 alpha-2) or region the body serves."""

    id = UUID(primary_key=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, index=True)
    region = Varchar(length=8, index=True)


class BodyService(Table):
    id = UUID(primary_key=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, index=True)
    service = ForeignKey(SupportService, null=False, on_delete=OnDelete.restrict, index=True)
