"""Public JSON reads of the reference data (complete arrays, not paged)."""

from __future__ import annotations

from litestar import Controller, get

from marketplace.reference import services
from marketplace.reference.schemas import (
    AccreditationBodyOut,
    IafSectorOut,
    StandardOut,
    SupportServiceOut,
)


class ReferenceController(Controller):
    path = "/api/v1"
    tags = ["reference"]

    @get("/standards", summary="Management-system standards")
    async def standards(self) -> list[StandardOut]:
        return await services.list_standards()

    @get("/iaf-sectors", summary="The 39 IAF sectors")
    async def iaf_sectors(self) -> list[IafSectorOut]:
        return await services.list_iaf_sectors()

    @get("/accreditation-bodies", summary="Accreditation bodies")
    async def accreditation_bodies(self) -> list[AccreditationBodyOut]:
        return await services.list_accreditation_bodies()

    @get("/support-services", summary="Support services a body may offer")
    async def support_services(self) -> list[SupportServiceOut]:
        return await services.list_support_services()
