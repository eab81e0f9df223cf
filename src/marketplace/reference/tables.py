"""Reference tables, keyed by the codes the trade uses (ISO 9001:2015, IAF 28, UKAS, gap_analysis)."""

from __future__ import annotations

from piccolo.columns import Boolean, Integer, Text, Varchar
from piccolo.table import Table


class Standard(Table):
    code = Varchar(length=40, primary_key=True)
    title = Text()
    family = Varchar(length=12, index=True)
    uses_complexity = Boolean(default=False)


class IafSector(Table):
    code = Integer(primary_key=True)
    name = Text()


class AccreditationBody(Table):
    code = Varchar(length=40, primary_key=True)
    name = Text()
    country = Varchar(length=2, index=True)
    iaf_mla = Boolean(default=False)
    website = Varchar(length=200, default="")


class SupportService(Table):
    code = Varchar(length=40, primary_key=True)
    name = Text()
    description = Text(default="")
