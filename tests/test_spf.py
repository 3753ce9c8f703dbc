"""SPF through our resolver, and the refusal of malformed envelope domains."""

from __future__ import annotations

import pytest

from mpsverify.resolver import SnapshotResolver
from mpsverify.results import Status
from mpsverify.spf import Envelope, check_spf, mail_from_domain

ZONE = {
    "example.org": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"]},
    "helo.example.org": {"TXT": ["v=spf1 a -all"], "A": ["198.51.100.7"]},
    "slow.example": {"TXT": "TIMEOUT"},
}


@pytest.mark.parametrize(("address", "domain"), [
    ("bounce@example.org", "example.org"),
    ("<bounce@Example.ORG>", "example.org"),
    ("any@medicalprotection.org(.evil.example", None),
    ('any@medicalprotection.org".evil.example', None),
    ("a@b@medicalprotection.org", None),
    ("no-at-sign", None),
    ("x@-bad-.example", None),
    ("x@single", None),
])
def test_mail_from_domain(address: str, domain: str | None) -> None:
    assert mail_from_domain(address) == domain


def run(envelope: Envelope) -> Status:
    return check_spf(envelope, SnapshotResolver(ZONE)).status


def test_mail_from_pass() -> None:
    assert run(Envelope("192.0.2.5", "mx.example.org", "a@example.org")) is Status.PASS


def test_mail_from_fail() -> None:
    assert run(Envelope("203.0.113.5", "mx.example.org", "a@example.org")) is Status.FAIL


def test_null_sender_uses_helo() -> None:
    result = check_spf(Envelope("198.51.100.7", "helo.example.org", ""), SnapshotResolver(ZONE))
    assert (result.status, result.scope, result.domain) == (Status.PASS, "helo", "helo.example.org")


def test_helo_is_not_used_when_mail_from_given() -> None:
    result = check_spf(Envelope("198.51.100.7", "helo.example.org", "a@example.org"), SnapshotResolver(ZONE))
    assert (result.status, result.scope) == (Status.FAIL, "mailfrom")


def test_malformed_domain_is_never_queried() -> None:
    resolver = SnapshotResolver(ZONE)
    result = check_spf(Envelope("192.0.2.5", "mx", "a@example.org(.evil.example"), resolver)
    assert result.status is Status.NONE
    assert resolver.queries == []


def test_timeout_is_temperror() -> None:
    assert run(Envelope("192.0.2.5", "mx.example.org", "a@slow.example")) is Status.TEMPERROR


def test_no_envelope_is_not_checked() -> None:
    assert run(Envelope()) is Status.NOT_CHECKED


def test_bad_client_ip_is_not_checked() -> None:
    assert run(Envelope("not-an-ip", "mx", "a@example.org")) is Status.NOT_CHECKED


def test_empty_local_part_is_postmaster() -> None:
    result = check_spf(Envelope("192.0.2.5", "mx.example.org", "@example.org"), SnapshotResolver(ZONE))
    assert (result.status, result.domain) == (Status.PASS, "example.org")
