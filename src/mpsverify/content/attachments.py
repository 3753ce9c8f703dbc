"""Judge attachments by their names, declared types and first bytes.

Nothing is opened, run or decompressed. A ZIP archive's central directory, which
lists member names without their contents, is read to find programs inside it;
at most ``MAX_ARCHIVE_NAMES`` names are read.
"""

from __future__ import annotations

import email.errors
import email.header
import io
import logging
import struct
import unicodedata
import zipfile
from dataclasses import dataclass

from ..message import Part
from ..results import Reason
from .codes import content_reason, shown

logger = logging.getLogger(__name__)

#: Member names read from one ZIP archive's central directory.
MAX_ARCHIVE_NAMES = 1000

#: Extensions Windows, macOS or Linux run or install when opened.
EXECUTABLE_EXTENSIONS = frozenset({
    "exe", "scr", "com", "pif", "bat", "cmd", "vbs", "vbe", "js", "jse", "wsf", "wsh", "ws", "ps1",
    "psm1", "psd1", "msi", "msp", "mst", "jar", "hta", "cpl", "lnk", "reg", "dll", "application",
    "gadget", "msc", "scf", "inf", "sct", "chm", "appref-ms", "appx", "appxbundle", "msix",
    "msixbundle", "appinstaller", "iqy", "slk", "xll", "settingcontent-ms", "library-ms", "search-ms",
    "url", "sh", "command", "app", "pkg", "apk", "run", "wsc", "xbap", "msh", "diagcab",
})
#: Office formats whose extension marks them as able to carry macros.
MACRO_EXTENSIONS = frozenset({"docm", "dotm", "xlsm", "xltm", "xlam", "xlsb", "pptm", "potm", "ppam", "ppsm", "sldm"})
#: Web pages and SVG images, which open in a browser and can run script or show a form.
HTML_EXTENSIONS = frozenset({"htm", "html", "shtml", "xhtml", "xht", "mht", "mhtml", "svg", "svgz"})
ARCHIVE_EXTENSIONS = frozenset({"zip", "rar", "7z", "tar", "gz", "tgz", "bz2", "xz", "cab", "ace", "arj", "lzh", "z"})
DISK_IMAGE_EXTENSIONS = frozenset({"iso", "img", "vhd", "vhdx", "dmg", "udf"})
#: Extensions a person reads as a harmless document, used to spot double extensions.
DOCUMENT_EXTENSIONS = frozenset({
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "rtf", "txt", "csv", "jpg",
    "jpeg", "png", "gif", "bmp", "tif", "tiff", "mp3", "mp4", "wav", "eml", "msg", "htm", "html",
})

# Signatures at the start of the content, from each format's specification.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "windows-program"),
    (b"\x7fELF", "linux-program"),
    (b"\xcf\xfa\xed\xfe", "mac-program"),
    (b"\xce\xfa\xed\xfe", "mac-program"),
    (b"\xfe\xed\xfa\xcf", "mac-program"),
    (b"L\x00\x00\x00\x01\x14\x02\x00", "shortcut"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"MSCF", "cab"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"\xff\xd8\xff", "image"),
    (b"GIF8", "image"),
    (b"conectix", "disk-image"),
    (b"vhdxfile", "disk-image"),
)
_MAGIC_DESCRIPTIONS = {
    "windows-program": "a Windows program", "linux-program": "a Linux program", "mac-program": "a macOS program",
    "shortcut": "a Windows shortcut", "zip": "a ZIP archive", "rar": "a RAR archive", "7z": "a 7-Zip archive",
    "gzip": "a gzip archive", "bzip2": "a bzip2 archive", "xz": "an xz archive", "cab": "a cabinet archive",
    "ole": "an older Office or installer file", "pdf": "a PDF document", "image": "an image",
    "disk-image": "a disk image", "html": "a web page",
}
#: Content kinds each extension may legitimately have, for the mismatch check.
_EXPECTED_KINDS: dict[str, frozenset[str]] = {
    **{ext: frozenset({"zip"}) for ext in ("docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm",
                                             "xlam", "xlsb", "pptx", "pptm", "potx", "potm", "ppsx", "ppsm",
                                             "ppam", "odt", "ods", "odp", "epub", "zip", "jar", "apk", "appx",
                                             "msix", "xpi", "vsix", "nupkg", "kmz")},
    **{ext: frozenset({"ole"}) for ext in ("doc", "xls", "ppt", "msi", "msg", "pub", "vsd", "dot", "xlt")},
    "pdf": frozenset({"pdf"}),
    **{ext: frozenset({"image"}) for ext in ("png", "jpg", "jpeg", "gif")},
    **{ext: frozenset({"windows-program"}) for ext in ("exe", "dll", "scr", "cpl", "com", "sys", "pif")},
    "rar": frozenset({"rar"}), "7z": frozenset({"7z"}), "gz": frozenset({"gzip"}), "tgz": frozenset({"gzip"}),
    "cab": frozenset({"cab"}), "lnk": frozenset({"shortcut"}), "vhd": frozenset({"disk-image"}),
    "vhdx": frozenset({"disk-image"}), "txt": frozenset(), "csv": frozenset(), "rtf": frozenset(),
    **{ext: frozenset({"html"}) for ext in ("htm", "html", "shtml", "xhtml", "svg")},
}
#: Declared content types and the extensions they fit; other types are not compared.
_TYPE_EXTENSIONS: dict[str, frozenset[str]] = {
    "application/pdf": frozenset({"pdf"}),
    "image/jpeg": frozenset({"jpg", "jpeg", "jpe", "jfif"}),
    "image/png": frozenset({"png"}),
    "image/gif": frozenset({"gif"}),
    "text/plain": frozenset({"txt", "text", "log", "csv", "asc"}),
    "text/calendar": frozenset({"ics", "ical", "ifb"}),
    "application/msword": frozenset({"doc", "dot"}),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": frozenset({"docx"}),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": frozenset({"xlsx"}),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": frozenset({"pptx"}),
    "application/vnd.ms-excel": frozenset({"xls", "xlt", "xla", "csv"}),
}
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


@dataclass(frozen=True)
class AttachmentAnalysis:
    """Findings about the attachments of one message."""

    reasons: tuple[Reason, ...]
    #: Some attachment is dangerous enough to make authenticated entity mail suspicious.
    risky: bool


def analyse_attachments(parts: tuple[Part, ...]) -> AttachmentAnalysis:
    """Check every part that is not a text body: names, declared types and magic bytes."""
    reasons: list[Reason] = []
    for part in parts:
        if part.is_text_body or part.content_type.startswith("multipart/"):
            continue
        reasons.extend(check_attachment(part))
    risky = any(reason.code != "attachment.archive" for reason in reasons)
    return AttachmentAnalysis(tuple(reasons), risky)


def check_attachment(part: Part) -> list[Reason]:
    """Return the findings about one attachment part."""
    raw_name = decode_filename(part.filename)
    name = clean_filename(raw_name)
    label = shown(_mark_controls(raw_name) or "(unnamed)")
    extensions = name.lower().split(".")[1:] if "." in name else []
    extension = extensions[-1] if extensions else ""
    kind = content_kind(part.payload, part.content_type)
    reasons: list[Reason] = []
    if any(character in _BIDI_CONTROLS for character in raw_name):
        reasons.append(content_reason("attachment.name-trick", name=label))
    reasons += _double_extension(label, extensions)
    reasons += _type_reasons(label, extension, kind, part)
    return reasons


def _mark_controls(name: str) -> str:
    """Write direction controls as visible code points, so a quoted name cannot reverse the reason's text."""
    return "".join(f"[U+{ord(c):04X}]" if c in _BIDI_CONTROLS else c for c in name)


def decode_filename(name: str) -> str:
    """Decode RFC 2047 encoded words in a file name, as most mail programs do when showing it.

    RFC 2231 forbids encoded words in parameters, but Outlook and others write them,
    and recipients see the decoded name.
    """
    if "=?" not in name:
        return name
    try:
        return str(email.header.make_header(email.header.decode_header(name)))
    except (email.errors.HeaderParseError, LookupError, UnicodeError, ValueError) as error:
        logger.debug("could not decode an attachment name: %s", error)
        return name


def clean_filename(name: str) -> str:
    """Normalise a file name as Windows reads it: NFKC, no direction controls, no trailing dots or spaces."""
    cleaned = "".join(character for character in unicodedata.normalize("NFKC", name)
                      if character not in _BIDI_CONTROLS)
    return cleaned.replace("\\", "/").rsplit("/", 1)[-1].rstrip(" .")


def content_kind(payload: bytes, content_type: str = "") -> str:
    """Return the kind of content its first bytes show, such as "windows-program" or "zip"; "" if unknown."""
    for signature, kind in _MAGIC:
        if payload.startswith(signature):
            return kind
    if _is_iso9660(payload):
        return "disk-image"
    head = payload[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<script", b"<svg", b"<head", b"<body")):
        return "html"
    if head.startswith(b"<?xml") and b"<svg" in head:
        return "html"
    return ""


def _is_iso9660(payload: bytes) -> bool:
    # ISO 9660 volumes carry "CD001" at byte 32769, after a 32 KiB system area.
    return payload[32769:32774] == b"CD001"


def _double_extension(label: str, extensions: list[str]) -> list[Reason]:
    if len(extensions) < 2:
        return []
    real, previous = extensions[-1], extensions[-2].strip()
    dangerous = EXECUTABLE_EXTENSIONS | MACRO_EXTENSIONS | HTML_EXTENSIONS | DISK_IMAGE_EXTENSIONS
    if real in dangerous and previous in DOCUMENT_EXTENSIONS and previous != real:
        return [content_reason("attachment.double-extension", name=label, real=real, shown=previous)]
    return []


def _type_reasons(label: str, extension: str, kind: str, part: Part) -> list[Reason]:
    reasons = []
    if extension in EXECUTABLE_EXTENSIONS:
        reasons.append(content_reason("attachment.executable", name=label, detail=f"the name ends in .{extension}"))
    elif kind in ("windows-program", "linux-program", "mac-program", "shortcut"):
        reasons.append(content_reason("attachment.executable", name=label,
                                      detail=f"its content is {_MAGIC_DESCRIPTIONS[kind]}"))
    if extension in MACRO_EXTENSIONS:
        reasons.append(content_reason("attachment.macro", name=label, detail=f"the name ends in .{extension}"))
    if extension in HTML_EXTENSIONS or part.content_type in ("text/html", "image/svg+xml") or kind == "html":
        detail = f"the name ends in .{extension}" if extension in HTML_EXTENSIONS else "its content is a web page"
        reasons.append(content_reason("attachment.html", name=label, detail=detail))
    if extension in DISK_IMAGE_EXTENSIONS or kind == "disk-image":
        reasons.append(content_reason("attachment.disk-image", name=label, detail=_kind_detail(extension, kind)))
    elif extension in ARCHIVE_EXTENSIONS or kind in ("rar", "7z", "gzip", "bzip2", "xz", "cab"):
        reasons.append(content_reason("attachment.archive", name=label, detail=_kind_detail(extension, kind)))
    if kind == "zip":
        reasons += _zip_members(label, part.payload, macro_named=extension in MACRO_EXTENSIONS)
    reasons += _mismatch_reasons(label, extension, kind, part.content_type)
    return reasons


def _kind_detail(extension: str, kind: str) -> str:
    if extension:
        return f"the name ends in .{extension}"
    return f"its content is {_MAGIC_DESCRIPTIONS.get(kind, 'an archive')}"


def _zip_members(label: str, payload: bytes, macro_named: bool) -> list[Reason]:
    """Look inside a ZIP's central directory for programs, and for macro projects when the name hides them."""
    names = zip_member_names(payload)
    reasons: list[Reason] = []
    for member in names:
        member_extension = member.lower().rsplit(".", 1)[-1] if "." in member else ""
        if member_extension in EXECUTABLE_EXTENSIONS:
            return [content_reason("attachment.executable", name=label,
                                   detail=f"the archive contains {shown(member, 60)}")]
        if member.lower().endswith("vbaproject.bin") and not reasons and not macro_named:
            reasons.append(content_reason("attachment.macro", name=label, detail="it contains a macro project"))
    return reasons


def zip_member_names(payload: bytes) -> list[str]:
    """Return up to ``MAX_ARCHIVE_NAMES`` member names from a ZIP's central directory, without extracting."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            return [info.filename for info in archive.infolist()[:MAX_ARCHIVE_NAMES]]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error,
            NotImplementedError, UnicodeDecodeError) as error:
        logger.debug("could not list a ZIP attachment: %s", error)
        return []


def _mismatch_reasons(label: str, extension: str, kind: str, content_type: str) -> list[Reason]:
    expected = _EXPECTED_KINDS.get(extension)
    if expected is not None and kind and kind not in expected:
        detail = f"its name ends in .{extension} but its content is {_MAGIC_DESCRIPTIONS.get(kind, kind)}"
        return [content_reason("attachment.type-mismatch", name=label, detail=detail)]
    # Mail programs often declare loose types, so a declared type only counts
    # against the name when it passes a dangerous file off as a harmless one.
    fitting = _TYPE_EXTENSIONS.get(content_type)
    dangerous = EXECUTABLE_EXTENSIONS | MACRO_EXTENSIONS | HTML_EXTENSIONS
    if fitting is not None and extension in dangerous and extension not in fitting:
        detail = f"it is declared as {content_type} but its name ends in .{extension}"
        return [content_reason("attachment.type-mismatch", name=label, detail=detail)]
    return []
