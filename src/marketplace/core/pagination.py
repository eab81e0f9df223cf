"""Page parameters and the list envelope every API list answers with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec

from marketplace.core.errors import Invalid

T = TypeVar("T")

MAX_PER_PAGE = 100
# Far past any real list, and small enough that (page - 1) * per_page stays a 64-bit offset
# on both databases; beyond it a caller gets a 422 rather than an overflow (a 500).
MAX_PAGE = 10_000


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int


@dataclass(frozen=True)
class PageParams:
    page: int = 1
    per_page: int = 20

    @classmethod
    def of(cls, page: int | None, per_page: int | None) -> PageParams:
        page = 1 if page is None else page
        per_page = 20 if per_page is None else per_page
        if not 1 <= page <= MAX_PAGE:
            raise Invalid.field("page", f"Choose between 1 and {MAX_PAGE}.")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise Invalid.field("per_page", f"Choose between 1 and {MAX_PER_PAGE}.")
        return cls(page, per_page)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page
