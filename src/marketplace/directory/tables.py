"""Directory tables: what hangs off a body's tenant row (services, accreditations, experience, rating)."""

from __future__ import annotations

from piccolo.columns import (
    UUID,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Real,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from marketplace.accounts.tables import CertificationBody, User
from marketplace.core import clock
from marketplace.reference.tables import AccreditationBody, IafSector, Standard, SupportService


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


class Accreditation(Table):
    """A body's accreditation for one standard, declared by the body, counted once verified.

    `status` is what an administrator decided (pending, verified, rejected, suspended); expiry is
    never stored: every query compares `valid_until` with today, so no sweep is needed.
    """

    id = UUID(primary_key=True)
    # No single-column index: Piccolo would name it "accreditation_body", the name of the
    # reference table, which SQLite refuses; the migration's (body, status, valid_until) covers it.
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade)
    accreditation_body = ForeignKey(AccreditationBody, null=False, on_delete=OnDelete.restrict)
    number = Varchar(length=60)
    standard = ForeignKey(Standard, null=False, on_delete=OnDelete.restrict, index=True)
    valid_until = Date()
    status = Varchar(length=12, default="pending", index=True)
    # A link to the accreditation body's public certificate or schedule (uploads are left out).
    evidence_url = Varchar(length=500, default="")
    status_reason = Text(default="")
    declared_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    verified_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    verified_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=clock.now)


class AccreditationScope(Table):
    """One IAF sector of an accreditation's scope.

    `body` and `standard` repeat the accreditation's (they never change after declaration) so a
    search filter on standard + sector is one indexed lookup instead of a join per body.
    `verified_until` is the accreditation's `valid_until` while it is verified and NULL otherwise
    (kept by `directory.services.decide_accreditation`), so "verified and unexpired" is the index
    range `verified_until >= today` with no join to `accreditation`.
    """

    id = UUID(primary_key=True)
    accreditation = ForeignKey(Accreditation, null=False, on_delete=OnDelete.cascade, index=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade)
    standard = ForeignKey(Standard, null=False, on_delete=OnDelete.restrict)
    iaf_sector = ForeignKey(IafSector, null=False, on_delete=OnDelete.restrict)
    verified_until = Date(null=True, default=None)


class SectorExperience(Table):
    """How many clients the body has certified in an IAF sector (declared by the body)."""

    id = UUID(primary_key=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, index=True)
    iaf_sector = ForeignKey(IafSector, null=False, on_delete=OnDelete.restrict, index=True)
    clients_certified = Integer(default=0)


class BodyRating(Table):
    """The body's review summary over published reviews, rewritten by reviews on every change.

    Sums rather than means are kept so the Bayesian score can be computed in SQL at query time
    against the current platform-wide mean.
    """

    id = UUID(primary_key=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, unique=True)
    review_count = Integer(default=0, index=True)
    rating_sum = Integer(default=0)
    mean = Real(default=0.0, index=True)
    stars_1 = Integer(default=0)
    stars_2 = Integer(default=0)
    stars_3 = Integer(default=0)
    stars_4 = Integer(default=0)
    stars_5 = Integer(default=0)
    competence_sum = Integer(default=0)
    communication_sum = Integer(default=0)
    value_sum = Integer(default=0)
    punctuality_sum = Integer(default=0)
    updated_at = Timestamptz(default=clock.now)
