"""Message parsing from bytes: line endings, header fields, MIME and limits."""

from __future__ import annotations

import base64

from mpsverify.message import Limits, parse_message

SIMPLE = b"From: a@b.example\r\nSubject: hi\r\n folded\r\n\r\nbody\r\n"


def test_crlf_and_lf_give_same_fields() -> None:
    crlf = parse_message(SIMPLE)
    lf = parse_message(SIMPLE.replace(b"\r\n", b"\n"))
    assert [(h.name, h.value.replace("\r\n", "\n")) for h in crlf.headers] == \
        [(h.name, h.value.replace("\r\n", "\n")) for h in lf.headers]


def test_raw_bytes_are_kept() -> None:
    assert parse_message(SIMPLE).raw == SIMPLE


def test_space_before_colon_is_still_a_field() -> None:
    parsed = parse_message(b"From: a@b.example\r\nFrom : c@d.example\r\n\r\nx")
    assert len(parsed.get_all("from")) == 2
    assert parsed.spaced_names == ("From",)


def test_empty_input_is_not_a_message() -> None:
    assert parse_message(b"").is_message is False
    assert parse_message(b"\r\n\r\nbody only").is_message is False


def test_base64_attachment_is_decoded() -> None:
    payload = base64.b64encode(b"MZ\x90\x00binary")
    raw = (b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=xx\r\n\r\n"
           b"--xx\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
           b"--xx\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
           b"Content-Disposition: attachment; filename=\"a.pdf.exe\"\r\n\r\n" + payload + b"\r\n--xx--\r\n")
    parts = parse_message(raw).parts
    assert [p.content_type for p in parts] == ["text/plain", "application/octet-stream"]
    assert parts[1].filename == "a.pdf.exe"
    assert parts[1].payload.startswith(b"MZ")


def nested(depth: int) -> bytes:
    head = b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=n0\r\n\r\n"
    body = b""
    for level in range(depth):
        body += b"--n%d\r\nContent-Type: multipart/mixed; boundary=n%d\r\n\r\n" % (level, level + 1)
    body += b"--n%d\r\nContent-Type: text/plain\r\n\r\ndeep\r\n" % depth
    return head + body


def test_nesting_limit_is_reported() -> None:
    parsed = parse_message(nested(400), Limits(max_depth=20))
    assert parsed.limits_hit == ("MIME nesting deeper than 20 levels",)


def test_shallow_nesting_reaches_leaf() -> None:
    parsed = parse_message(nested(3))
    assert [p.text().strip() for p in parsed.parts] == ["deep"]


def test_header_count_limit() -> None:
    raw = b"".join(b"X-N: %d\r\n" % i for i in range(50)) + b"From: a@b.example\r\n\r\nx"
    parsed = parse_message(raw, Limits(max_headers=10))
    assert len(parsed.headers) == 10
    assert parsed.limits_hit == ("more than 10 header fields",)


def test_part_count_limit() -> None:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\np%d\r\n" % i for i in range(30))
    raw = b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + parts + b"--b--\r\n"
    parsed = parse_message(raw, Limits(max_parts=5))
    assert len(parsed.parts) == 5
    assert parsed.limits_hit == ("more than 5 MIME parts",)


def test_size_limit_truncates() -> None:
    parsed = parse_message(SIMPLE + b"x" * 1000, Limits(max_bytes=100))
    assert len(parsed.raw) == 100
    assert parsed.limits_hit == ("message larger than 100 bytes",)
