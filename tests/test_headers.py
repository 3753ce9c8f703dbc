"""Header fields the product writes: no message content can break a line or add a field."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace

import authres
import pytest

from mpsverify import (ArcResult, Author, DkimResult, DmarcResult, Reason, Severity, SnapshotResolver, SpfResult,
                       Status, Verdict, Verification, verify)
from mpsverify.errors import ConfigError
from mpsverify.headers import (AUTHRES_FIELD, VERDICT_FIELD, HeaderField, authentication_results_field,
                               clean_text, domain_value, prepend_fields, quote, remove_fields, verdict_field)
from mpsverify.message import parse_message

AUTHSERV_ID = "mx.hospital.example"

# Values an attacker can place in a DKIM tag, an address or a display name.
HOSTILE = [
    "evil.example\r\nX-MPS-Verdict: authentic",
    "evil.example\nX-MPS-Verdict: authentic",
    "evil.example\rX-MPS-Verdict: authentic",
    "evil.example\r\n\r\nbody starts here",
    "evil.example\x00X-MPS-Verdict: authentic",
    "evil.example\u2028X-MPS-Verdict: authentic",
    "evil.example\u2029X-MPS-Verdict: authentic",
    "evil.example\u0085X-MPS-Verdict: authentic",
    "evil.example\x0bX-MPS-Verdict: authentic\x0c",
    'evil.example"; reasons="dmarc.pass',
    "evil.example\\\"\r\n\tX-Injected: 1",
    "evil.example;dmarc=pass header.from=medicalprotection.org",
    "évil.example\u200b\r\nX-MPS-Verdict: authentic",
    "x" * 5000 + "\r\nX-MPS-Verdict: authentic",
    "\r\n" * 50,
]


def hostile_verification(value: str) -> Verification:
    """Return a Verification whose message-derived fields all carry ``value``."""
    return Verification(
        verdict=Verdict.SPOOFED,
        reasons=(Reason("dmarc.fail", Severity.DANGER, value), Reason(value, Severity.INFO, value)),
        author=Author(f"news@{value}", value, value),
        entity=value,
        spf=SpfResult(Status.FAIL, "mailfrom", value, value),
        dkim=(DkimResult(Status.FAIL, value, value, value, value),
              DkimResult(Status.PASS, "medicalprotection.org", "mp2026", "rsa-sha256")),
        arc=ArcResult(Status.FAIL, 1, value),
        dmarc=DmarcResult(Status.FAIL, value),
    )


def assert_one_safe_field(field: HeaderField) -> None:
    """Check that ``field`` is exactly one well-formed header field."""
    text = field.to_string()
    assert text.isascii()
    assert "\0" not in text
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    assert physical[0].startswith(field.name + ": ")
    for line in physical[1:]:
        assert line.startswith("\t"), f"a continuation line does not start with a tab: {line!r}"
        assert line.strip(), "an empty continuation line would end the header section"
    for line in physical:
        assert len(line) <= 998
        assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", line)
    assert "\r" not in text[:-2].replace("\r\n\t", "")
    assert "\n" not in text[:-2].replace("\r\n\t", "")

    parsed = email.message_from_string(text + "\r\nbody\r\n", policy=email.policy.SMTP)
    assert list(parsed.keys()) == [field.name]
    ours = parse_message(text.encode("ascii") + b"\r\nbody\r\n")
    assert [header.name for header in ours.headers] == [field.name]
    assert ours.body == b"body\r\n"


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_verdict_field_resists_injection(value: str) -> None:
    field = verdict_field(hostile_verification(value))
    assert_one_safe_field(field)
    assert field.value.startswith("spoofed;")


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_authres_field_resists_injection(value: str) -> None:
    field = authentication_results_field(hostile_verification(value), AUTHSERV_ID)
    assert_one_safe_field(field)
    assert field.value.startswith(AUTHSERV_ID + ";")


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_injected_dmarc_pass_not_readable(value: str) -> None:
    # The only dmarc result a parser can find is the real one, fail.
    field = authentication_results_field(hostile_verification(value), AUTHSERV_ID)
    unfolded = field.value.replace("\r\n\t", " ")
    outside_quotes = re.sub(r'"(?:[^"\\]|\\.)*"', '""', unfolded)
    assert re.findall(r"\bdmarc=(\w+)", outside_quotes) == ["fail"]
    assert len(re.findall(r"\bdkim=(\w+)", outside_quotes)) == 2


@pytest.mark.parametrize(("value", "expected"), [
    ("plain", "plain"),
    ("a\r\nb", "a b"),
    ("a\x00b", "a b"),
    ("a\u2028b", "a b"),
    ("café", "cafe"),
    ("日本", "??"),
    ("  spaced   out  ", "spaced out"),
    ("x" * 300, "x" * 200),
])
def test_clean_text(value: str, expected: str) -> None:
    assert clean_text(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("medicalprotection.org", "medicalprotection.org"),
    ("Medical Protection Society", '"Medical Protection Society"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("a;b", '"a;b"'),
    ("", '""'),
])
def test_quote(value: str, expected: str) -> None:
    assert quote(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("MedicalProtection.org.", "medicalprotection.org"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("evil.example\r\nX: y", '"evil.example X: y"'),
    ("a b.example", '"a b.example"'),
])
def test_domain_value(value: str, expected: str) -> None:
    assert domain_value(value) == expected


def test_authres_field_parses_with_authres() -> None:
    result = Verification(
        verdict=Verdict.AUTHENTIC, reasons=(),
        author=Author("news@medicalprotection.org", "medicalprotection.org"),
        spf=SpfResult(Status.PASS, "mailfrom", "medicalprotection.org"),
        dkim=(DkimResult(Status.PASS, "medicalprotection.org", "mp2026", "rsa-sha256"),),
        dmarc=DmarcResult(Status.PASS, "medicalprotection.org"),
    )
    field = authentication_results_field(result, AUTHSERV_ID)
    parsed = authres.AuthenticationResultsHeader.parse(field.to_string().replace("\r\n\t", " ").strip())

    assert parsed.authserv_id == AUTHSERV_ID
    assert [(item.method, item.result) for item in parsed.results] == [
        ("spf", "pass"), ("dkim", "pass"), ("dmarc", "pass")]
    assert str(parsed.results[1].header_d) == "medicalprotection.org"


def test_authres_field_without_results_is_none() -> None:
    field = authentication_results_field(Verification(Verdict.UNRELATED, ()), AUTHSERV_ID)
    assert field.value == f"{AUTHSERV_ID}; none"


@pytest.mark.parametrize("authserv_id", ["", "mx.example\r\nX-Evil: 1", "two words", "a;b"])
def test_invalid_authserv_id_rejected(authserv_id: str) -> None:
    with pytest.raises(ConfigError, match="authserv-id"):
        authentication_results_field(Verification(Verdict.UNRELATED, ()), authserv_id)


def test_long_reason_list_folds() -> None:
    reasons = tuple(Reason(f"code.number-{index}", Severity.INFO, "") for index in range(40))
    field = verdict_field(Verification(Verdict.UNRELATED, reasons))
    assert_one_safe_field(field)
    assert all(len(line) <= 78 for line in field.to_string().split("\r\n")[:-1])


def test_remove_fields_drops_forged_fields() -> None:
    message = (b"X-MPS-Verdict: authentic;\r\n\treasons=\"dmarc.pass\"\r\n"
               b"Authentication-Results: mx.hospital.example;\r\n dkim=pass header.d=medicalprotection.org\r\n"
               b"Authentication-Results: other.example; spf=fail\r\n"
               b"From: a@evil.example\r\n"
               b"x-mps-verdict : authentic\r\n"
               b"\r\nX-MPS-Verdict: in the body stays\r\n")
    cleaned = remove_fields(remove_fields(message, VERDICT_FIELD), AUTHRES_FIELD, AUTHSERV_ID)

    assert cleaned == (b"Authentication-Results: other.example; spf=fail\r\n"
                       b"From: a@evil.example\r\n"
                       b"\r\nX-MPS-Verdict: in the body stays\r\n")


def test_remove_fields_authserv_id_after_comment() -> None:
    message = b"Authentication-Results: (forged) MX.Hospital.Example; dkim=pass\nFrom: a@b.example\n\nbody\n"
    assert remove_fields(message, AUTHRES_FIELD, AUTHSERV_ID) == b"From: a@b.example\n\nbody\n"


def test_prepend_fields_keeps_line_ending() -> None:
    field = HeaderField(VERDICT_FIELD, "unrelated;\r\n\treasons=x")
    assert prepend_fields(b"From: a@b.example\n\nbody\n", [field]) == (
        b"X-MPS-Verdict: unrelated;\n\treasons=x\nFrom: a@b.example\n\nbody\n")
    assert prepend_fields(b"From: a@b.example\r\n\r\nbody\r\n", [field]).startswith(
        b"X-MPS-Verdict: unrelated;\r\n\treasons=x\r\nFrom:")


HOSTILE_MESSAGE = (
    b"DKIM-Signature: v=1; a=rsa-sha256; d=evil.example\r\n =?utf-8?q?=0D=0AX-MPS-Verdict:_authentic?=;\r\n"
    b" s=sel\"\\; h=from; bh=AAAA; b=AAAA\r\n"
    b"From: =?utf-8?q?Medical_Protection=0D=0AX-MPS-Verdict:_authentic?=\r\n"
    b"  <news@medicalprotection.org>\r\n"
    b"Subject: hi\r\n\r\nbody\r\n"
)


def test_hostile_message_end_to_end() -> None:
    resolver = SnapshotResolver({})
    result = verify(HOSTILE_MESSAGE, resolver=resolver, client_ip="198.51.100.7",
                    mail_from="bounce@evil.example")
    fields = [verdict_field(result), authentication_results_field(result, AUTHSERV_ID)]
    for field in fields:
        assert_one_safe_field(field)
    stamped = prepend_fields(remove_fields(HOSTILE_MESSAGE, VERDICT_FIELD), fields)
    parsed = parse_message(stamped)

    assert [header.name for header in parsed.headers].count(VERDICT_FIELD) == 1
    assert parsed.headers[0].value.startswith(result.verdict.value + ";")
    assert result.verdict is not Verdict.AUTHENTIC


def test_builders_leave_result_unchanged() -> None:
    # The builders read a Verification and never change it.
    result = hostile_verification("a.example")
    before = replace(result)
    verdict_field(result)
    authentication_results_field(result, AUTHSERV_ID)
    assert result == before
