"""Output shapes of the public reference data."""

from __future__ import annotations

import msgspec


class StandardOut(msgspec.Struct):
    code: str
    title: str
    family: str
    uses_complexity: bool


class IafSectorOut(msgspec.Struct):
    code: int
    name: str


class AccreditationBodyOut(msgspec.Struct):
    code: str
    name: str
    country: str
    iaf_mla: bool
    website: str


class SupportServiceOut(msgspec.Struct):
    code: str
    name: str
    description: str
