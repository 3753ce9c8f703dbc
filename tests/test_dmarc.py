"""DMARC per RFC 9989: tree walk, organisational domain, alignment and policy."""

from __future__ import annotations

import pytest

from mpsverify import dmarc
from mpsverify.resolver import SnapshotResolver
from mpsverify.results import DkimResult, SpfResult, Status

ZONE = {
    "_dmarc.example.org": {"TXT": ["v=DMARC1; p=reject; sp=quarantine; np=reject"]},
    "_dmarc.strict.example": {"TXT": ["v=DMARC1; p=reject; adkim=s; aspf=s"]},
    "_dmarc.gov.example": {"TXT": ["v=DMARC1; p=reject; psd=y"]},
    "_dmarc.agency.gov.example": {"TXT": ["v=DMARC1; p=none"]},
    "_dmarc.broken.example": {"TXT": "SERVFAIL"},
    "_dmarc.two.example": {"TXT": ["v=DMARC1; p=reject", "v=DMARC1; p=none"]},
    "_dmarc.psdn.example": {"TXT": ["v=DMARC1; p=reject; psd=n"]},
    "exists.example.org": {"A": ["192.0.2.1"]},
}


def resolver() -> SnapshotResolver:
    return SnapshotResolver(ZONE)


@pytest.mark.parametrize(("domain", "names"), [
    ("example.org", ["example.org", "org"]),
    ("a.b.example.org", ["a.b.example.org", "b.example.org", "example.org", "org"]),
    ("1.2.3.4.5.6.7.8.9.example", ["1.2.3.4.5.6.7.8.9.example", "4.5.6.7.8.9.example", "5.6.7.8.9.example",
                                   "6.7.8.9.example", "7.8.9.example", "8.9.example", "9.example", "example"]),
])
def test_walk_names(domain: str, names: list[str]) -> None:
    assert dmarc.walk_names(domain) == names


@pytest.mark.parametrize(("domain", "organisational"), [
    ("example.org", "example.org"),
    ("mail.example.org", "example.org"),
    ("deep.mail.example.org", "example.org"),
    ("agency.gov.example", "agency.gov.example"),
    ("x.agency.gov.example", "agency.gov.example"),
    ("other.gov.example", "other.gov.example"),
    ("sub.psdn.example", "psdn.example"),
    ("nothing.example", "nothing.example"),
])
def test_organisational_domain(domain: str, organisational: str) -> None:
    assert dmarc.Discovery(resolver()).organisational_domain(domain) == organisational


def signature(domain: str, status: Status = Status.PASS) -> DkimResult:
    return DkimResult(status, domain, "s", "rsa-sha256")


NO_SPF = SpfResult(Status.NOT_CHECKED)


def test_relaxed_dkim_alignment_passes() -> None:
    result = dmarc.evaluate("example.org", NO_SPF, [signature("mail.example.org")], resolver())
    assert result.status is Status.PASS
    assert result.dkim_aligned


def test_strict_dkim_alignment_needs_exact_domain() -> None:
    result = dmarc.evaluate("strict.example", NO_SPF, [signature("mail.strict.example")], resolver())
    assert result.status is Status.FAIL


def test_strict_spf_alignment_needs_exact_domain() -> None:
    spf = SpfResult(Status.PASS, "mailfrom", "bounce.strict.example")
    assert dmarc.evaluate("strict.example", spf, [], resolver()).status is Status.FAIL


def test_unaligned_pass_fails() -> None:
    spf = SpfResult(Status.PASS, "mailfrom", "evil.example")
    result = dmarc.evaluate("example.org", spf, [signature("evil.example")], resolver())
    assert result.status is Status.FAIL
    assert result.policy == "reject"


def test_failed_aligned_signature_does_not_count() -> None:
    result = dmarc.evaluate("example.org", NO_SPF, [signature("example.org", Status.FAIL)], resolver())
    assert result.status is Status.FAIL


def test_subdomain_policy_from_parent() -> None:
    result = dmarc.evaluate("exists.example.org", NO_SPF, [], resolver())
    assert result.policy_domain == "example.org"
    assert result.policy == "quarantine"


def test_nonexistent_subdomain_uses_np() -> None:
    result = dmarc.evaluate("ghost.example.org", NO_SPF, [], resolver())
    assert result.policy == "reject"


def test_discovery_servfail_is_temperror() -> None:
    result = dmarc.evaluate("broken.example", NO_SPF, [signature("broken.example")], resolver())
    assert result.status is Status.TEMPERROR


def test_two_records_count_as_none() -> None:
    assert dmarc.Discovery(resolver()).policy("two.example") is None


def test_unknown_tags_are_ignored() -> None:
    record = dmarc.parse_record("v=DMARC1; p=reject; future=yes", "x.example")
    assert record is not None and record.p == "reject"


def test_invalid_policy_value_is_no_record() -> None:
    assert dmarc.parse_record("v=DMARC1; p=sometimes", "x.example") is None


def test_snapshot_cname_loop_is_servfail() -> None:
    from mpsverify.resolver import DnsStatus

    loop = SnapshotResolver({"a.example": {"CNAME": ["b.example"]}, "b.example": {"CNAME": ["a.example"]}})
    assert loop.query("a.example", "TXT").status is DnsStatus.SERVFAIL


def test_failure_detail_is_plain() -> None:
    spf = SpfResult(Status.FAIL, "mailfrom", "example.org")
    result = dmarc.evaluate("example.org", spf, [], resolver())
    assert result.detail == "there is no DKIM signature and the sending server is not authorised by SPF"
