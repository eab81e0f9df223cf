"""A rule's refusal: the machine code, the sentence, and the field when it is an input's fault."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    """Why a rule says no. With a ``field`` the caller answers 422 on that field, else 409 ``code``."""

    code: str
    message: str
    field: str | None = None
