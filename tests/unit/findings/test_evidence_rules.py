"""Pure rules of evidence uploads and overdue findings: sniffing, names, headers, deadlines."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

from marketplace.core.errors import PayloadTooLarge, UnsupportedMediaType
from marketplace.findings import evidence
from marketplace.findings.corrective_actions import overdue
from marketplace.rules.corrective_actions import resolved
from marketplace.web import downloads


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name in names:
            z.writestr(name, "x")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.4 ...", "pdf"),
        (b"\x89PNG\r\n\x1a\n....", "png"),
        (b"\xff\xd8\xff\xdb", "jpeg"),
        (b"GIF87a..", "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (_zip("[Content_Types].xml", "word/document.xml"), "docx"),
        (_zip("[Content_Types].xml", "xl/workbook.xml"), "xlsx"),
        (_zip("[Content_Types].xml", "ppt/presentation.xml"), "pptx"),
        ("Plain words, ünïcode\n".encode(), "text"),
    ],
)
def test_sniff_allowed(data: bytes, kind: str) -> None:
    sniffed = evidence.sniff(data)
    assert sniffed is not None
    assert sniffed.kind == kind


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00",  # Windows executable
        b"\x7fELF\x02\x01",  # Linux executable
        b"<html><body>hi</body></html>",
        b"  \n<script>alert(1)</script>",
        b"\xef\xbb\xbf<svg/>",
        _zip("word/document.xml"),  # no [Content_Types].xml: not OOXML
        _zip("[Content_Types].xml", "other/thing.xml"),
        b"PK\x03\x04broken",
        b"\xff\xfe\x00\x00",  # not UTF-8
        b"text with \x00 NUL",
        b"\x1b[31mterminal escape",
        b"",
    ],
)
def test_sniff_refused(data: bytes) -> None:
    assert evidence.sniff(data) is None


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("/absolute/path/report.pdf", "report.pdf"),
        (".hidden", "hidden"),
        ("", "evidence"),
        (None, "evidence"),
        ("..", "evidence"),
        ('quote"and;semi.txt', "quote_and_semi.txt"),
        ("line\r\nbreak.txt", "line_break.txt"),
        ("Prüfbericht 2026.pdf", "Prüfbericht 2026.pdf"),
    ],
)
def test_safe_filename(raw: str | None, safe: str) -> None:
    assert evidence.safe_filename(raw) == safe


def test_long_names_keep_their_extension() -> None:
    name = evidence.safe_filename("a" * 500 + ".pdf")
    assert len(name) <= evidence.MAX_NAME_LENGTH
    assert name.endswith(".pdf")


def test_content_disposition_has_ascii_fallback_and_utf8_name() -> None:
    header = downloads.content_disposition("Prüfbericht 2026.pdf")
    assert (
        header
        == "attachment; filename=\"Pr_fbericht 2026.pdf\"; filename*=UTF-8''Pr%C3%BCfbericht%202026.pdf"
    )


def test_check_upload_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETPLACE_EVIDENCE_MAX_BYTES", "10")
    with pytest.raises(PayloadTooLarge):
        evidence.check_upload(b"%PDF-" + b"0" * 10, "a.pdf")
    monkeypatch.setenv("MARKETPLACE_EVIDENCE_MAX_BYTES", "1000")
    with pytest.raises(UnsupportedMediaType):
        evidence.check_upload(b"%PDF-1.4", "a.png")
    with pytest.raises(UnsupportedMediaType):
        evidence.check_upload(b"hello", "a.html")
    assert evidence.check_upload(b"hello", "README").kind == "text"


def test_overdue_depends_on_grade_and_status() -> None:
    today = dt.date(2026, 6, 1)
    due = dt.date(2026, 5, 31)
    assert overdue({"grade": "minor", "status": "open", "due_on": due}, today)
    assert not overdue({"grade": "minor", "status": "submitted", "due_on": due}, today)
    assert overdue({"grade": "major", "status": "accepted", "due_on": due}, today)
    assert not overdue({"grade": "major", "status": "closed", "due_on": due}, today)
    assert not overdue({"grade": "major", "status": "open", "due_on": today}, today)
    assert resolved("minor", "accepted")
    assert not resolved("major", "accepted")
