"""Input and output shapes of the directory API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

Money = Annotated[int, msgspec.Meta(ge=0, le=100_000_000, description="integer minor units")]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217")]
Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}$", description="ISO 639-1")]
Region = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
ServiceCode = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class BodyIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=2, max_length=200)]
    country: Region
    description: Annotated[str, msgspec.Meta(max_length=10_000)] = ""
    languages: Annotated[list[Language], msgspec.Meta(max_length=50)] = []
    regions: Annotated[list[Region], msgspec.Meta(max_length=250)] = []
    day_rate_min_minor: Money = 0
    day_rate_max_minor: Money = 0
    currency: Currency = "EUR"
    response_time_hours: Annotated[int, msgspec.Meta(ge=1, le=2000)] = 48
    remote_audits: bool = False
    services: Annotated[list[ServiceCode], msgspec.Meta(max_length=50)] = []
    website: Annotated[str, msgspec.Meta(max_length=200)] = ""


class BodyPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: Annotated[str, msgspec.Meta(min_length=2, max_length=200)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    country: Region | msgspec.UnsetType = msgspec.UNSET
    description: Annotated[str, msgspec.Meta(max_length=10_000)] | msgspec.UnsetType = msgspec.UNSET
    languages: Annotated[list[Language], msgspec.Meta(max_length=50)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    regions: Annotated[list[Region], msgspec.Meta(max_length=250)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    day_rate_min_minor: Money | msgspec.UnsetType = msgspec.UNSET
    day_rate_max_minor: Money | msgspec.UnsetType = msgspec.UNSET
    currency: Currency | msgspec.UnsetType = msgspec.UNSET
    response_time_hours: Annotated[int, msgspec.Meta(ge=1, le=2000)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    remote_audits: bool | msgspec.UnsetType = msgspec.UNSET
    services: Annotated[list[ServiceCode], msgspec.Meta(max_length=50)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    website: Annotated[str, msgspec.Meta(max_length=200)] | msgspec.UnsetType = msgspec.UNSET


class BodyOut(msgspec.Struct):
    id: uuid.UUID
    slug: str
    name: str
    country: str
    description: str
    languages: list[str]
    regions: list[str]
    day_rate_min_minor: int
    day_rate_max_minor: int
    currency: str
    response_time_hours: int
    remote_audits: bool
    services: list[str]
    website: str


Sector = Annotated[int, msgspec.Meta(ge=1, le=39, description="IAF sector code (IAF ID 1)")]
SORTS = ("relevance", "rating", "reviews", "price", "response_time")


class AccreditationIn(msgspec.Struct, forbid_unknown_fields=True):
    accreditation_body: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    number: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    standard: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    iaf_sectors: Annotated[list[Sector], msgspec.Meta(min_length=1, max_length=39)]
    valid_until: dt.date
    evidence_url: Annotated[str, msgspec.Meta(max_length=500)] = ""


class AccreditationOut(msgspec.Struct):
    id: uuid.UUID
    body_id: uuid.UUID
    accreditation_body: str
    accreditation_body_name: str
    number: str
    standard: str
    iaf_sectors: list[int]
    valid_until: dt.date
    # pending | verified | rejected | suspended as decided, or "expired" once valid_until passed.
    status: str
    evidence_url: str
    status_reason: str
    verified_at: dt.datetime | None
    created_at: dt.datetime


class QueuedAccreditation(AccreditationOut):
    """An accreditation in the administrators' queue, with the declaring body's name."""

    body_name: str = ""

    def accreditation(self) -> AccreditationOut:
        """The API's answer: the accreditation without the queue's extra name."""
        return AccreditationOut(**{f: getattr(self, f) for f in AccreditationOut.__struct_fields__})


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class SectorExperienceIn(msgspec.Struct, forbid_unknown_fields=True):
    iaf_sector: Sector
    clients_certified: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


class SectorExperienceOut(msgspec.Struct):
    iaf_sector: int
    name: str
    clients_certified: int


class RatingBreakdown(msgspec.Struct):
    """Published reviews only: mean and Bayesian score, star distribution, sub-rating means."""

    review_count: int
    rating: float | None
    bayesian: float | None
    distribution: dict[str, int]
    competence: float | None
    communication: float | None
    value: float | None
    punctuality: float | None


class BodyDetailOut(BodyOut):
    accreditations: list[AccreditationOut] = []
    sectors_of_experience: list[SectorExperienceOut] = []
    rating: RatingBreakdown | None = None


class BodySummaryOut(msgspec.Struct):
    id: uuid.UUID
    slug: str
    name: str
    country: str
    rating: float | None
    review_count: int
    day_rate_min_minor: int
    day_rate_max_minor: int
    currency: str
    response_time_hours: int
    remote_audits: bool
    standards: list[str]
    services: list[str]
    score: float


class FacetValue(msgspec.Struct):
    value: str
    count: int


class SearchPage(msgspec.Struct):
    """The list envelope of core.pagination.Page plus facet counts under the current filters."""

    items: list[BodySummaryOut]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[FacetValue]]


class AccreditationMatch(msgspec.Struct):
    accreditation_body: str
    number: str
    valid_until: dt.date


class CompareBodyOut(msgspec.Struct):
    id: uuid.UUID
    slug: str
    name: str
    country: str
    currency: str
    day_rate_min_minor: int
    day_rate_max_minor: int
    response_time_hours: int
    remote_audits: bool
    languages: list[str]
    services: list[str]
    accredited: bool
    accreditation_matches: list[AccreditationMatch]
    clients_in_sector: int
    rating: RatingBreakdown
    cycle_days: float | None
    estimated_cycle_cost_minor: int | None
    estimated_cycle_cost_min_minor: int | None
    estimated_cycle_cost_max_minor: int | None


class CompareOut(msgspec.Struct):
    standard: str
    iaf_sector: int | None
    organisation_id: uuid.UUID | None
    services: list[str]
    bodies: list[CompareBodyOut]
    basis: list[str]
