"""Quote tables: a client's request, the bodies it went to, their quotes and the lines per audit."""

from __future__ import annotations

from piccolo.columns import (
    UUID,
    BigInt,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from marketplace.accounts.tables import CertificationBody, Organisation, User
from marketplace.core import clock
from marketplace.reference.tables import IafSector, Standard
from marketplace.scheduling.tables import Engagement


class QuoteRequest(Table):
    """A client's request for quotes, sent to one to five bodies at once; open until one is accepted."""

    id = UUID(primary_key=True)
    # Restrict: a request that led to quotes is part of the commercial record of both sides.
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict, index=True)
    standard = ForeignKey(Standard, null=False, on_delete=OnDelete.restrict)
    iaf_sector = ForeignKey(IafSector, null=False, on_delete=OnDelete.restrict)
    effective_personnel = Integer()
    sites = Integer(default=1)
    shifts = Integer(default=1)
    complexity = Varchar(length=10, null=True, default=None)  # high|medium|low|limited (EMS, OH&S)
    desired_start = Date(null=True, default=None)
    message = Text(default="")
    status = Varchar(length=20, default="open", index=True)  # open | closed
    # The IAF MD 5 figures at the time of the request, so later table changes do not rewrite history.
    table_days = DoublePrecision(default=0.0)
    baseline_days = DoublePrecision(default=0.0)  # minimum initial days: table less 30%
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now, index=True)
    closed_at = Timestamptz(null=True, default=None)


class QuoteRequestRecipient(Table):
    """One body a request went to, and where its answer stands."""

    id = UUID(primary_key=True)
    request = ForeignKey(QuoteRequest, null=False, on_delete=OnDelete.cascade, index=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, index=True)
    # pending | quoted | declined (by the body) | accepted | not_selected (another body won)
    status = Varchar(length=20, default="pending", index=True)
    decline_reason = Text(default="")
    created_at = Timestamptz(default=clock.now)
    responded_at = Timestamptz(null=True, default=None)


class Quote(Table):
    """A body's priced answer, judged against the IAF MD 5 baseline it was submitted under."""

    id = UUID(primary_key=True)
    # No index of its own: Piccolo would name it "quote_request", the name of the table above
    # (SQLite shares one namespace); the unique (request, body) index leads with it instead.
    request = ForeignKey(QuoteRequest, null=False, on_delete=OnDelete.cascade)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, index=True)
    currency = Varchar(length=3)
    valid_until = Date()
    status = Varchar(length=20, default="submitted", index=True)  # submitted|accepted|declined
    message = Text(default="")
    total_minor = BigInt(default=0)
    quoted_days = DoublePrecision(default=0.0)  # stage 1 + stage 2
    cycle_days = DoublePrecision(default=0.0)  # all five audits
    baseline_days = DoublePrecision(default=0.0)
    below_baseline = Boolean(default=False)
    # Set once accepted; set_null so removing an engagement never erases the commercial record.
    engagement = ForeignKey(Engagement, null=True, on_delete=OnDelete.set_null)
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)
    decided_at = Timestamptz(null=True, default=None)


class QuoteLine(Table):
    """Days and money for one audit of the cycle (stage1 ... recertification)."""

    id = UUID(primary_key=True)
    quote = ForeignKey(Quote, null=False, on_delete=OnDelete.cascade, index=True)
    audit_kind = Varchar(length=20)
    auditor_days = DoublePrecision()
    day_rate_minor = BigInt(default=0)
    fees_minor = BigInt(default=0)
    travel_minor = BigInt(default=0)
    total_minor = BigInt(default=0)
