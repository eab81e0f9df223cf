"""Load reference data from seed/ CSV files (idempotent upserts) and read it back."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import msgspec
from piccolo.table import Table

from marketplace.core.db import write_transaction
from marketplace.reference.schemas import (
    AccreditationBodyOut,
    IafSectorOut,
    StandardOut,
    SupportServiceOut,
)
from marketplace.reference.tables import AccreditationBody, IafSector, Standard, SupportService
from marketplace.settings import PROJECT_ROOT

SEED_DIR = PROJECT_ROOT / "seed"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"true", "1", "yes"}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


async def _upsert(table: type[Table], key: str, rows: list[dict[str, Any]]) -> int:
    key_col = table._meta.get_column_by_name(key)
    existing = {r[key] for r in await table.select(key_col).run()}
    for row in rows:
        if row[key] in existing:
            values: dict[Any, Any] = {
                table._meta.get_column_by_name(k): v for k, v in row.items() if k != key
            }
            await table.update(values).where(key_col == row[key]).run()
        else:
            await table.insert(table(**row)).run()
    return len(rows)


async def load_reference_data(seed_dir: Path = SEED_DIR) -> dict[str, int]:
    """Insert or update every reference row from the CSV files; safe to run any number of times."""
    counts: dict[str, int] = {}
    async with write_transaction():
        counts["iaf_sectors"] = await _upsert(
            IafSector,
            "code",
            [
                {"code": int(r["code"]), "name": r["name"]}
                for r in _read(seed_dir / "iaf_sectors.csv")
            ],
        )
        counts["standards"] = await _upsert(
            Standard,
            "code",
            [
                {
                    "code": r["code"],
                    "title": r["title"],
                    "family": r["family"],
                    "uses_complexity": _bool(r["uses_complexity"]),
                }
                for r in _read(seed_dir / "standards.csv")
            ],
        )
        counts["accreditation_bodies"] = await _upsert(
            AccreditationBody,
            "code",
            [
                {
                    "code": r["code"],
                    "name": r["name"],
                    "country": r["country"],
                    "iaf_mla": _bool(r["iaf_mla"]),
                    "website": r.get("website", ""),
                }
                for r in _read(seed_dir / "accreditation_bodies.csv")
            ],
        )
        counts["support_services"] = await _upsert(
            SupportService,
            "code",
            [
                {"code": r["code"], "name": r["name"], "description": r.get("description", "")}
                for r in _read(seed_dir / "support_services.csv")
            ],
        )
    return counts


async def list_standards() -> list[StandardOut]:
    rows = await Standard.select().order_by(Standard.code).run()
    return msgspec.convert(rows, list[StandardOut])


async def list_iaf_sectors() -> list[IafSectorOut]:
    rows = await IafSector.select().order_by(IafSector.code).run()
    return msgspec.convert(rows, list[IafSectorOut])


async def list_accreditation_bodies() -> list[AccreditationBodyOut]:
    rows = await AccreditationBody.select().order_by(AccreditationBody.code).run()
    return msgspec.convert(rows, list[AccreditationBodyOut])


async def list_support_services() -> list[SupportServiceOut]:
    rows = await SupportService.select().order_by(SupportService.name).run()
    return msgspec.convert(rows, list[SupportServiceOut])
