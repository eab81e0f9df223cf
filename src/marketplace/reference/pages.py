"""HTML pages listing the reference data."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from marketplace.reference import services


class ReferencePages(Controller):
    path = "/reference"
    include_in_schema = False

    @get("/")
    async def index(self) -> Template:
        return Template(
            "reference/index.html",
            context={
                "standards": await services.list_standards(),
                "sectors": await services.list_iaf_sectors(),
                "accreditation_bodies": await services.list_accreditation_bodies(),
                "services": await services.list_support_services(),
            },
        )
