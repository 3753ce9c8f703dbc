"""End-to-end verdicts through the Python API, one test per kind of attack or fault."""

from __future__ import annotations

from datetime import datetime, timezone

import dkim

from mpsverify import Settings, Verdict, Verifier
from mpsverify.allowlist import parse_allowlist
from mpsverify.resolver import SnapshotResolver
from mpsverify.spf import Envelope

from test_dkim import RSA_512, RSA_2048

NOW = datetime(2026, 12, 10, tzinfo=timezone.utc)
ALLOWLIST = parse_allowlist("""
version: 1
organisation: Medical Protection Society
entities:
  - name: Medical Protection Society
    kind: organisation
    domains: [medicalprotection.org]
    brand_names: [Medical Protection]
  - name: Survey Partner
    kind: partner
    domains: [partner.example]
""")
ZONE = {
    "medicalprotection.org": {"TXT": ["v=spf1 ip4:192.0.2.0/26 -all"]},
    "_dmarc.medicalprotection.org": {"TXT": ["v=DMARC1; p=reject"]},
    "mp._domainkey.medicalprotection.org": {"TXT": [RSA_2048[1]]},
    "old._domainkey.medicalprotection.org": {"TXT": [RSA_512[1]]},
    "partner.example": {"TXT": ["v=spf1 ip4:203.0.113.0/24 -all"]},
    "evil.example": {"TXT": ["v=spf1 ip4:198.51.100.200 -all"]},
    "mta.evil.example": {"TXT": ["v=spf1 ip4:198.51.100.200 -all"]},
    "ev._domainkey.evil.example": {"TXT": [RSA_2048[1]]},
    "broken.medicalprotection.org": {"TXT": "SERVFAIL"},
}
GOOD = Envelope("192.0.2.10", "mta1.medicalprotection.org", "bounce@medicalprotection.org")
EVIL = Envelope("198.51.100.200", "mta.evil.example", "x@evil.example")
BODY = b"To: a@nhs.example\r\nSubject: Renewal\r\nDate: Tue, 01 Dec 2026 09:30:00 +0000\r\n\r\nHello.\r\n"


def message(from_field: bytes, extra: bytes = b"") -> bytes:
    return extra + b"From: " + from_field + b"\r\n" + BODY


def signed(raw: bytes, domain: bytes = b"medicalprotection.org", selector: bytes = b"mp",
           key: bytes = RSA_2048[0], **options: object) -> bytes:
    return bytes(dkim.sign(raw, selector, domain, key, include_headers=[b"from", b"to", b"subject"],
                           **options)) + raw


def check(raw: bytes, envelope: Envelope = EVIL, zone: dict[str, dict[str, object]] | None = None,
          **settings: object):  # type: ignore[no-untyped-def]
    verifier = Verifier(ALLOWLIST, SnapshotResolver(zone or ZONE), Settings(**settings))  # type: ignore[arg-type]
    return verifier.verify(raw, envelope, NOW)


MPS = b'"Medical Protection" <news@medicalprotection.org>'


def test_aligned_dkim_and_spf_are_authentic() -> None:
    result = check(signed(message(MPS)), GOOD)
    assert result.verdict is Verdict.AUTHENTIC
    assert {"dkim.pass", "spf.pass", "dmarc.pass", "entity.organisation"} <= result.codes()


def test_lf_line_endings_still_verify() -> None:
    raw = signed(message(MPS)).replace(b"\r\n", b"\n")
    assert check(raw, EVIL).verdict is Verdict.AUTHENTIC


def test_partner_domain_gives_partner() -> None:
    envelope = Envelope("203.0.113.9", "mx.partner.example", "b@partner.example")
    assert check(message(b"survey@partner.example"), envelope).verdict is Verdict.PARTNER


def test_no_authentication_is_spoofed() -> None:
    result = check(message(MPS), Envelope("198.51.100.200", "mta.evil.example", "news@medicalprotection.org"))
    assert result.verdict is Verdict.SPOOFED
    assert {"spf.fail", "dmarc.fail"} <= result.codes()


def test_foreign_signature_does_not_align() -> None:
    raw = signed(message(MPS), b"evil.example", b"ev")
    result = check(raw, EVIL)
    assert result.verdict is Verdict.SPOOFED
    assert {"dkim.pass", "dmarc.fail"} <= result.codes()


def test_mixed_signatures_failed_aligned_one_loses() -> None:
    raw = signed(signed(message(MPS)).replace(b"Hello.", b"Pay now."), b"evil.example", b"ev")
    result = check(raw, EVIL)
    assert result.verdict is Verdict.SPOOFED
    assert {"dkim.pass", "dkim.fail", "dmarc.fail"} <= result.codes()


def test_weak_key_is_spoofed() -> None:
    result = check(signed(message(MPS), selector=b"old", key=RSA_512[0]), EVIL)
    assert result.verdict is Verdict.SPOOFED
    assert "dkim.weak-key" in result.codes()


def test_appended_body_is_suspicious() -> None:
    raw = signed(message(MPS), length=True) + b"Click http://evil.example/pay\r\n"
    result = check(raw, EVIL)
    assert result.verdict is Verdict.SUSPICIOUS
    assert "dkim.body-length-limit" in result.codes()


def test_helo_pass_does_not_rescue_mail_from() -> None:
    envelope = Envelope("198.51.100.200", "mta.evil.example", "news@medicalprotection.org")
    assert check(message(MPS), envelope).verdict is Verdict.SPOOFED


def test_null_sender_helo_does_not_align() -> None:
    result = check(message(MPS), Envelope("198.51.100.200", "mta.evil.example", ""))
    assert result.verdict is Verdict.SPOOFED
    assert result.spf.scope == "helo"


def test_paren_mail_from_is_not_looked_up_or_aligned() -> None:
    envelope = Envelope("198.51.100.200", "mta.evil.example", "any@medicalprotection.org(.evil.example")
    result = check(message(MPS), envelope)
    assert result.verdict is Verdict.SPOOFED
    assert "envelope.invalid-mail-from" in result.codes()


def test_multiple_from_fields_are_spoofed() -> None:
    raw = message(MPS, b"From: attacker@evil.example\r\n")
    result = check(signed(raw, b"evil.example", b"ev"), EVIL)
    assert result.verdict is Verdict.SPOOFED
    assert "from.multiple-headers" in result.codes()


def test_space_before_colon_counts_as_from() -> None:
    raw = b"From: attacker@evil.example\r\nFrom : " + MPS + b"\r\n" + BODY
    assert "from.multiple-headers" in check(raw).codes()


def test_two_mailboxes_are_spoofed() -> None:
    result = check(message(b"news@medicalprotection.org, attacker@evil.example"))
    assert result.verdict is Verdict.SPOOFED
    assert "from.multiple-addresses" in result.codes()


def test_two_at_signs_are_spoofed() -> None:
    result = check(message(b"news@attacker.example@medicalprotection.org"))
    assert result.verdict is Verdict.SPOOFED
    assert "from.invalid" in result.codes()


def test_invalid_from_without_claim_is_unrelated() -> None:
    result = check(message(b"someone@other.example>"))
    assert result.verdict is Verdict.UNRELATED
    assert "from.invalid" in result.codes()


def test_missing_from_with_entity_envelope_is_spoofed() -> None:
    envelope = Envelope("198.51.100.200", "mta.evil.example", "news@medicalprotection.org")
    result = check(BODY, envelope)
    assert result.verdict is Verdict.SPOOFED
    assert "from.missing" in result.codes()


def test_route_address_author_is_judged() -> None:
    result = check(message(b"<@evil.example,@relay.example:news@medicalprotection.org>"))
    assert result.author is not None and result.author.domain == "medicalprotection.org"
    assert result.verdict is Verdict.SPOOFED


def test_injected_authres_is_ignored() -> None:
    extra = b"Authentication-Results: mx.example; dkim=pass header.d=medicalprotection.org\r\n"
    envelope = Envelope("198.51.100.200", "mta.evil.example", "news@medicalprotection.org")
    result = check(message(MPS, extra), envelope)
    assert result.verdict is Verdict.SPOOFED
    assert "authres.untrusted" in result.codes()


def test_trusted_authres_stands_in_for_missing_key() -> None:
    extra = b"Authentication-Results: mx.example; dkim=pass header.d=medicalprotection.org\r\n"
    zone = {key: value for key, value in ZONE.items() if not key.startswith("mp._domainkey")}
    result = check(signed(message(MPS, extra)), Envelope(), zone, trusted_authserv_ids=("mx.example",))
    assert result.verdict is Verdict.AUTHENTIC
    assert "authres.trusted" in result.codes()


def test_dns_failure_is_unverified() -> None:
    zone = dict(ZONE)
    zone["mp._domainkey.medicalprotection.org"] = {"TXT": "SERVFAIL"}
    zone["_dmarc.medicalprotection.org"] = {"TXT": "SERVFAIL"}
    zone["medicalprotection.org"] = {"TXT": "SERVFAIL"}
    result = check(signed(message(MPS)), GOOD, zone)
    assert result.verdict is Verdict.UNVERIFIED
    assert {"dkim.temperror", "dmarc.temperror"} <= result.codes()


def test_nothing_to_check_is_unverified() -> None:
    result = check(message(MPS), Envelope())
    assert result.verdict is Verdict.UNVERIFIED
    assert "spf.not-checked" in result.codes()


def test_subdomain_without_records_is_spoofed() -> None:
    result = check(message(b"alerts@secure.medicalprotection.org"),
                   Envelope("198.51.100.200", "mta.evil.example", "alerts@secure.medicalprotection.org"))
    assert result.verdict is Verdict.SPOOFED
    assert result.dmarc.policy_domain == "medicalprotection.org"


def test_deep_nesting_is_bounded_and_judged() -> None:
    parts = b"".join(b"--n%d\r\nContent-Type: multipart/mixed; boundary=n%d\r\n\r\n" % (i, i + 1)
                     for i in range(400))
    raw = (b"From: " + MPS + b"\r\nContent-Type: multipart/mixed; boundary=n0\r\n\r\n" + parts)
    result = check(raw, Envelope("198.51.100.200", "mta.evil.example", "news@medicalprotection.org"))
    assert result.verdict is Verdict.SPOOFED
    assert "message.limits-exceeded" in result.codes()


def test_empty_input_is_not_email() -> None:
    assert check(b"").codes() == {"message.not-email"}


def test_unrelated_sender() -> None:
    result = check(message(b"sam@evil.example"), EVIL)
    assert result.verdict is Verdict.UNRELATED


def test_json_round_trip() -> None:
    import json

    data = json.loads(check(signed(message(MPS)), GOOD).to_json())
    assert data["verdict"] == "authentic"
    assert {"code", "severity", "message"} <= set(data["reasons"][0])


def test_rewritten_link_keeps_wrapper_and_target() -> None:
    from urllib.parse import quote

    target = "https://www.medicalprotection.org/uk/renew"
    wrapped = "https://eur01.safelinks.protection.outlook.com/?url=" + quote(target, safe="") + "&data=x"
    body = (b"To: a@nhs.example\r\nSubject: Renewal\r\nContent-Type: text/html\r\n\r\n"
            b'<a href="' + wrapped.encode() + b'">renew</a>\r\n')
    result = check(b"From: " + MPS + b"\r\n" + body, GOOD)
    (link,) = result.links
    assert link.url == wrapped
    assert link.target == target
    assert link.entity == "Medical Protection Society"
    assert link.rewriters


def test_invalid_client_ip_is_reported() -> None:
    result = check(message(MPS), Envelope("999.1.1.1", "mta.evil.example", "news@medicalprotection.org"))
    assert "envelope.invalid-client-ip" in result.codes()
    assert "spf.not-checked" not in result.codes()
