"""Parse a raw RFC 5322 message into header fields and MIME parts, within limits.

The parser never raises on malformed input: problems become ``defects`` and a
limit that is reached is recorded in ``limits_hit`` while parsing stops at that
point. The original bytes are kept unchanged because DKIM verifies them.
CRLF and bare-LF files are both accepted.
"""

from __future__ import annotations

import binascii
import email.message
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_HEADER_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]*:")
_LINE_SPLIT = re.compile(rb"\r?\n")
_BOUNDARY_SAFE = re.compile(r"^[ -~]{1,200}$")


@dataclass(frozen=True)
class Limits:
    """Bounds on the work done for one message; each has a documented default."""

    #: Bytes of the message read at all; the rest is ignored.
    max_bytes: int = 64 * 1024 * 1024
    #: Header fields read from the top-level header section.
    max_headers: int = 1000
    #: Nesting depth of multipart bodies.
    max_depth: int = 20
    #: MIME parts collected for content analysis.
    max_parts: int = 500
    #: Decoded bytes kept per part for content analysis.
    max_part_bytes: int = 8 * 1024 * 1024


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Header:
    """One header field: its name as written and its unfolded value as text."""

    name: str
    value: str

    @property
    def key(self) -> str:
        """Lower-case field name for comparisons."""
        return self.name.lower()


@dataclass(frozen=True)
class Part:
    """A leaf MIME part, decoded from its transfer encoding."""

    content_type: str
    charset: str = ""
    filename: str = ""
    #: "attachment", "inline" or empty.
    disposition: str = ""
    payload: bytes = b""
    #: The part was cut at ``Limits.max_part_bytes``.
    truncated: bool = False

    def text(self) -> str:
        """Decode the payload with its declared charset, replacing bad bytes."""
        charset = self.charset or "utf-8"
        try:
            return self.payload.decode(charset, errors="replace")
        except (LookupError, ValueError):
            # An unknown charset, or a name Python rejects outright (one with a NUL).
            return self.payload.decode("utf-8", errors="replace")

    @property
    def is_text_body(self) -> bool:
        """True for text/plain or text/html parts that are not attachments."""
        return self.content_type in ("text/plain", "text/html") and self.disposition != "attachment" \
            and not self.filename


@dataclass(frozen=True)
class ParsedMessage:
    """A message split into header fields, body and leaf parts."""

    raw: bytes
    headers: tuple[Header, ...]
    body: bytes
    parts: tuple[Part, ...] = ()
    defects: tuple[str, ...] = ()
    #: Descriptions of the limits reached, such as "MIME nesting deeper than 20".
    limits_hit: tuple[str, ...] = ()
    #: False when the input has no header fields at all, so it is not a message.
    is_message: bool = True
    #: Header fields whose name was followed by white space before the colon.
    spaced_names: tuple[str, ...] = field(default=())

    def get_all(self, name: str) -> list[Header]:
        """Return every header field named ``name`` (case-insensitive), in order."""
        key = name.lower()
        return [header for header in self.headers if header.key == key]

    def get_first(self, name: str) -> str | None:
        """Return the value of the first field named ``name``, or None."""
        found = self.get_all(name)
        return found[0].value if found else None


def decode_header_bytes(value: bytes) -> str:
    """Decode raw header bytes: UTF-8 when valid (RFC 6532), otherwise Latin-1."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def split_header_section(data: bytes) -> tuple[bytes, bytes]:
    """Split at the first empty line into header section and body."""
    match = re.search(rb"\r?\n\r?\n", data)
    if data.startswith((b"\r\n", b"\n")):
        return b"", data.split(b"\n", 1)[1]
    if match is None:
        return data, b""
    return data[: match.start()], data[match.end():]


def parse_header_fields(section: bytes, max_headers: int) -> tuple[list[Header], list[str], bool, list[str]]:
    """Unfold and split a header section.

    Returns the fields, defects, whether ``max_headers`` was reached, and the names
    written with white space before the colon.
    """
    fields: list[tuple[bytes, list[bytes]]] = []
    defects: list[str] = []
    spaced: list[str] = []
    hit_limit = False
    for line in _LINE_SPLIT.split(section):
        if line[:1] in (b" ", b"\t"):
            if fields:
                fields[-1][1].append(line)
            else:
                defects.append("the header section starts with a continuation line")
            continue
        match = _HEADER_NAME.match(line)
        if match is None:
            if line:
                defects.append("a header line has no field name")
            continue
        if len(fields) >= max_headers:
            hit_limit = True
            break
        name = match.group(1)
        if match.end() - 1 > len(name):
            spaced.append(name.decode("ascii", "replace"))
        fields.append((name, [line[match.end():]]))
    headers = [Header(name.decode("ascii", "replace"), decode_header_bytes(b"\r\n".join(parts)).strip())
               for name, parts in fields]
    return headers, defects, hit_limit, spaced


def parse_message(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ParsedMessage:
    """Parse ``data`` into a :class:`ParsedMessage`; never raises for any bytes."""
    limits_hit: list[str] = []
    if len(data) > limits.max_bytes:
        limits_hit.append(f"message larger than {limits.max_bytes} bytes")
        data = data[: limits.max_bytes]
    section, body = split_header_section(data)
    headers, defects, header_limit, spaced = parse_header_fields(section, limits.max_headers)
    if header_limit:
        limits_hit.append(f"more than {limits.max_headers} header fields")
    if not headers:
        return ParsedMessage(data, (), body, defects=tuple(defects), is_message=False)
    walker = _MimeWalker(limits)
    parts = tuple(walker.walk(headers, body))
    return ParsedMessage(
        raw=data,
        headers=tuple(headers),
        body=body,
        parts=parts,
        defects=tuple(defects + walker.defects),
        limits_hit=tuple(limits_hit + walker.limits_hit),
        spaced_names=tuple(spaced),
    )


def _content_info(headers: list[Header]) -> email.message.Message:
    """Build a stdlib Message holding only the MIME fields, for RFC 2231 parameter parsing."""
    info = email.message.Message()
    for header in headers:
        if header.key in ("content-type", "content-disposition", "content-transfer-encoding"):
            info[header.name] = header.value.replace("\r\n", "")
    return info


class _MimeWalker:
    """Iterative, bounded walk over a MIME tree that yields leaf parts."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.defects: list[str] = []
        self.limits_hit: list[str] = []
        self.count = 0

    def walk(self, headers: list[Header], body: bytes) -> Iterator[Part]:
        stack: list[tuple[list[Header], bytes, int]] = [(headers, body, 0)]
        while stack:
            part_headers, part_body, depth = stack.pop()
            info = _content_info(part_headers)
            content_type = info.get_content_type()
            if content_type.startswith("multipart/"):
                children = self._children(info, part_body, depth)
                stack.extend(reversed(children))
                continue
            if self.count >= self.limits.max_parts:
                self._hit(f"more than {self.limits.max_parts} MIME parts")
                return
            self.count += 1
            yield self._leaf(info, content_type, part_body)

    def _hit(self, description: str) -> None:
        if description not in self.limits_hit:
            self.limits_hit.append(description)

    def _children(self, info: email.message.Message, body: bytes,
                  depth: int) -> list[tuple[list[Header], bytes, int]]:
        if depth + 1 > self.limits.max_depth:
            self._hit(f"MIME nesting deeper than {self.limits.max_depth} levels")
            return []
        boundary = info.get_param("boundary")
        if not isinstance(boundary, str) or not _BOUNDARY_SAFE.match(boundary):
            self.defects.append("a multipart part has no usable boundary")
            return []
        children = []
        for chunk in _split_multipart(body, boundary.encode("ascii", "replace")):
            section, child_body = split_header_section(chunk)
            child_headers, defects, _, _ = parse_header_fields(section, self.limits.max_headers)
            self.defects.extend(defects)
            children.append((child_headers, child_body, depth + 1))
        return children

    def _leaf(self, info: email.message.Message, content_type: str, body: bytes) -> Part:
        encoding = str(info.get("content-transfer-encoding", "")).strip().lower()
        payload = _decode_transfer(encoding, body, self.limits.max_part_bytes + 1)
        truncated = len(payload) > self.limits.max_part_bytes
        disposition = info.get_content_disposition() or ""
        filename = info.get_filename() or ""
        charset = info.get_content_charset() or ""
        return Part(content_type, charset, str(filename), disposition,
                    payload[: self.limits.max_part_bytes], truncated)


def _split_multipart(body: bytes, boundary: bytes) -> list[bytes]:
    """Return the bodies between ``--boundary`` delimiter lines, without the preamble.

    RFC 2046 section 5.1.1: a delimiter is "--" and the boundary at the start of a
    line, optionally followed by "--" (the close delimiter) and white space. The
    line break before a delimiter belongs to the delimiter.
    """
    marker = b"--" + boundary
    chunks: list[bytes] = []
    start: int | None = None
    position = body.find(marker)
    while position >= 0:
        after = position + len(marker)
        line_end = body.find(b"\n", after)
        rest = body[after: len(body) if line_end < 0 else line_end].rstrip(b"\r")
        closing = rest.startswith(b"--")
        at_line_start = position == 0 or body[position - 1: position] == b"\n"
        if at_line_start and not rest[2 if closing else 0:].strip(b" \t"):
            if start is not None:
                end = position - 1
                if end > start and body[end - 1: end] == b"\r":
                    end -= 1
                chunks.append(body[start: max(start, end)])
            if closing:
                return chunks
            start = len(body) if line_end < 0 else line_end + 1
        position = body.find(marker, after)
    if start is not None and start < len(body):
        chunks.append(body[start:])
    return chunks


def _decode_transfer(encoding: str, body: bytes, cap: int) -> bytes:
    """Decode a transfer encoding, reading only as much input as ``cap`` output needs."""
    if encoding == "base64":
        # Base64 turns 4 input characters into 3 bytes; line breaks add under 4%.
        body = body[: cap * 4 // 3 + cap // 16 + 4]
        try:
            # a2b_base64 skips characters outside the alphabet, such as line breaks.
            return binascii.a2b_base64(body)
        except binascii.Error:
            return _decode_base64_leniently(body)
    body = body[:cap]
    if encoding == "quoted-printable":
        return quopri.decodestring(body)
    return body


def _decode_base64_leniently(body: bytes) -> bytes:
    """Decode base64 with bad padding, as mail programs do, by dropping the incomplete tail."""
    cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", body)
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4]
    try:
        return binascii.a2b_base64(cleaned)
    except binascii.Error:
        return b""
