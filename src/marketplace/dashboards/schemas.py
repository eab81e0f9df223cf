"""Input shapes of the dashboards API (dashboards answer plain JSON documents built by services)."""

from __future__ import annotations

from typing import Annotated

import msgspec


class NoteIn(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
