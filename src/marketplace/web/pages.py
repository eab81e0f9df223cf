"""The home page and other pages that belong to no single domain."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from marketplace.accounts.guards import current_principal
from marketplace.reference import services as reference


class HomePages(Controller):
    include_in_schema = False

    @get("/")
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        principal = current_principal(request)
        return Template(
            "home.html",
            context={
                "principal": principal,
                "standards": await reference.list_standards(),
                "sectors": await reference.list_iaf_sectors(),
            },
        )
