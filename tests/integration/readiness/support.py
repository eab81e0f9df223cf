"""Builders for readiness tests: an engaged body, documents with approved versions, shares."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from marketplace.core import clock
from marketplace.readiness.documents import (
    approve_version,
    create_document,
    get_document,
    upload_version_file,
)
from marketplace.readiness.sharing import list_shares, share_documents
from marketplace.scheduling.engagements import start_engagement

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PDF2 = b"%PDF-1.7\n% revised\ntrailer <<>>\n%%EOF\n"


async def engage(org_id: uuid.UUID, body_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """An engagement between the organisation and the body: it may now share with that body."""
    started = await start_engagement(
        actor_id=None,
        organisation_id=org_id,
        body_id=body_id,
        standard="ISO 9001:2015",
        iaf_sector=28,
        agreed_days={"stage1": 1, "stage2": 2},
        start=clock.today() - dt.timedelta(days=30),
    )
    return dict(started.audit_ids)


async def approved_document(
    org_id: uuid.UUID,
    code: str = "QP-01",
    doc_type: str = "procedure",
    retention_months: int | None = None,
) -> tuple[uuid.UUID, uuid.UUID]:
    """A document whose version 1 carries a file and is approved; returns (document, version)."""
    doc_id = await create_document(
        None,
        org_id,
        {
            "code": code,
            "title": f"Document {code}",
            "doc_type": doc_type,
            "clause": "7.5",
            "retention_months": retention_months,
        },
    )
    doc = await get_document(doc_id)
    version_id = doc["versions"][0]["id"]
    await upload_version_file(None, doc_id, version_id, PDF, f"{code}.pdf")
    await approve_version(None, doc_id, version_id, None)
    return doc_id, version_id


async def shared_document(
    org_id: uuid.UUID, body_id: uuid.UUID, code: str = "QP-01"
) -> dict[str, Any]:
    await engage(org_id, body_id)
    doc_id, version_id = await approved_document(org_id, code)
    await share_documents(None, org_id, body_id, [doc_id])
    share = (await list_shares(org_id))[0]
    return {"doc": doc_id, "version": version_id, "share": share["id"]}
