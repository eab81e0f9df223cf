"""Input and output shapes of the directory API."""

from __future__ import annotations

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
