"""Builders of uploads: the smallest PDF, PNG and DOCX the upload checks accept, and the store."""

from __future__ import annotations

import io
import zipfile

from marketplace.findings import evidence

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PDF2 = b"%PDF-1.7\n% revised\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def docx() -> bytes:
    """A Word document as a zip with the two parts that make it one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def stored_files() -> set[str]:
    """The names of every file in the upload store (refusals must leave none behind)."""
    directory = evidence.storage_dir()
    return {p.name for p in directory.iterdir()} if directory.exists() else set()
