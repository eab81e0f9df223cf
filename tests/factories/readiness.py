"""Builders of readiness's things: documents with an approved version, documents shared."""

from __future__ import annotations

import uuid
from typing import Any

from marketplace.readiness.documents import (
    approve_version,
    create_document,
    get_document,
    upload_version_file,
)
from marketplace.readiness.sharing import list_shares, share_documents
from tests.factories.files import PDF
from tests.factories.scheduling import engagement


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
    """An approved document shared with a body the organisation is engaged with."""
    await engagement(org_id, body_id)
    doc_id, version_id = await approved_document(org_id, code)
    await share_documents(None, org_id, body_id, [doc_id])
    share = (await list_shares(org_id))[0]
    return {"doc": doc_id, "version": version_id, "share": share.id}
