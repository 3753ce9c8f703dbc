"""Tests for attachment checks by name, declared type and magic bytes."""

from __future__ import annotations

import io
import zipfile

import pytest

from mpsverify.content.attachments import analyse_attachments, check_attachment, clean_filename, content_kind
from mpsverify.message import Part

PE = b"MZ\x90\x00" + b"\x00" * 60
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, b"content")
    return buffer.getvalue()


def _part(filename: str, payload: bytes = b"data", content_type: str = "application/octet-stream") -> Part:
    return Part(content_type, "", filename, "attachment", payload)


def _codes(part: Part) -> list[str]:
    return [reason.code for reason in check_attachment(part)]


@pytest.mark.parametrize("filename, payload, content_type, codes", [
    ("statement.pdf.exe", PE, "application/octet-stream", ["attachment.double-extension", "attachment.executable"]),
    ("setup.exe", PE, "application/octet-stream", ["attachment.executable"]),
    ("run.js", b"WScript.Echo(1)", "application/javascript", ["attachment.executable"]),
    ("invoice.pdf", PE, "application/pdf", ["attachment.executable", "attachment.type-mismatch"]),
    ("invoice.pdf   .scr", PE, "application/octet-stream",
     ["attachment.double-extension", "attachment.executable"]),
    ("report.exe.", PE, "application/octet-stream", ["attachment.executable"]),
    ("shortcut.lnk", b"L\x00\x00\x00\x01\x14\x02\x00" + b"\x00" * 20, "application/octet-stream",
     ["attachment.executable"]),
    ("budget.xlsm", _zip("xl/workbook.xml", "xl/vbaProject.bin"), "application/vnd.ms-excel.sheet.macroEnabled.12",
     ["attachment.macro"]),
    ("letter.docx", _zip("word/document.xml", "word/vbaProject.bin"), "application/octet-stream",
     ["attachment.macro"]),
    ("letter.docx", _zip("word/document.xml"), "application/octet-stream", []),
    ("login.html", b"<!DOCTYPE html><form>", "text/html", ["attachment.html"]),
    ("invoice.svg", b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'>", "image/svg+xml",
     ["attachment.html"]),
    ("scan.pdf.html", b"<html>", "application/octet-stream", ["attachment.double-extension", "attachment.html"]),
    ("files.zip", _zip("readme.txt"), "application/zip", ["attachment.archive"]),
    ("files.zip", _zip("readme.txt", "invoice.pdf.exe"), "application/zip",
     ["attachment.archive", "attachment.executable"]),
    ("files.7z", b"7z\xbc\xaf\x27\x1c" + b"\x00" * 20, "application/x-7z-compressed", ["attachment.archive"]),
    ("disk.iso", b"\x00" * 32769 + b"CD001", "application/octet-stream", ["attachment.disk-image"]),
    ("photo.jpg", b"\x00" * 32769 + b"CD001", "image/jpeg", ["attachment.disk-image", "attachment.type-mismatch"]),
    ("document.vhd", b"conectix" + b"\x00" * 20, "application/octet-stream", ["attachment.disk-image"]),
    ("statement.pdf", PDF, "application/pdf", []),
    ("logo.png", PNG, "image/png", []),
    ("photo.png", PDF, "image/png", ["attachment.type-mismatch"]),
    ("notes.txt", b"hello", "text/plain", []),
    ("calendar.ics", b"BEGIN:VCALENDAR", "text/calendar", []),
    ("invoice\u202efdp.exe", PE, "application/octet-stream", ["attachment.name-trick", "attachment.executable"]),
    ("", PE, "application/octet-stream", ["attachment.executable"]),
])
def test_attachment_findings(filename: str, payload: bytes, content_type: str, codes: list[str]) -> None:
    assert _codes(_part(filename, payload, content_type)) == codes


def test_declared_type_hides_program() -> None:
    reasons = check_attachment(_part("invoice.exe", b"plain bytes", "application/pdf"))
    assert [reason.code for reason in reasons] == ["attachment.executable", "attachment.type-mismatch"]
    assert reasons[1].message == ("The attachment invoice.exe is not what its name claims: it is declared as "
                                  "application/pdf but its name ends in .exe.")


@pytest.mark.parametrize("payload, kind", [
    (PE, "windows-program"), (b"\x7fELF\x02", "linux-program"), (b"\xcf\xfa\xed\xfe", "mac-program"),
    (b"PK\x03\x04", "zip"), (b"Rar!\x1a\x07\x00", "rar"), (b"\x1f\x8b\x08", "gzip"), (b"MSCF\x00", "cab"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"), (PDF, "pdf"), (PNG, "image"), (b"\xef\xbb\xbf  <html>", "html"),
    (b"hello", ""), (b"", ""),
])
def test_content_kind(payload: bytes, kind: str) -> None:
    assert content_kind(payload) == kind


@pytest.mark.parametrize("name, cleaned", [
    ("report.exe.", "report.exe"), ("report.exe  ", "report.exe"), ("C:\\temp\\a.exe", "a.exe"),
    ("invoice\u202efdp.exe", "invoicefdp.exe"), ("ｆｕｌｌ.exe", "full.exe"),
])
def test_clean_filename(name: str, cleaned: str) -> None:
    assert clean_filename(name) == cleaned


def test_text_bodies_skipped() -> None:
    body = Part("text/html", "utf-8", "", "", b"<html>MZ</html>")
    analysis = analyse_attachments((body,))
    assert analysis.reasons == ()
    assert analysis.risky is False


def test_plain_archive_not_risky() -> None:
    analysis = analyse_attachments((_part("files.zip", _zip("readme.txt"), "application/zip"),))
    assert [reason.code for reason in analysis.reasons] == ["attachment.archive"]
    assert analysis.risky is False


def test_executable_risky() -> None:
    assert analyse_attachments((_part("a.exe", PE),)).risky is True


def test_broken_zip_does_not_raise() -> None:
    assert _codes(_part("broken.zip", b"PK\x03\x04" + b"\xff" * 100, "application/zip")) == ["attachment.archive"]
