"""Reason messages, checked word for word: helpdesk staff read these."""

from __future__ import annotations

import pytest

from mpsverify.reasons import CATALOGUE, make_reason
from mpsverify.results import Severity

MESSAGES = [
    ("from.missing", {}, "The message has no From field, so it does not say who wrote it."),
    ("from.invalid", {"detail": "the address has more than one @ sign"},
     "The From field does not contain exactly one valid email address (the address has more than one @ sign), "
     "so the author cannot be identified."),
    ("from.multiple-headers", {"count": 2},
     "The message has 2 From fields; a mail program may show a different one from the one that was checked."),
    ("from.multiple-addresses", {"count": 2}, "The From field lists 2 addresses, so the author is ambiguous."),
    ("spf.pass", {"ip": "192.0.2.10", "domain": "medicalprotection.org"},
     "The sending server 192.0.2.10 is authorised to send mail for medicalprotection.org (SPF)."),
    ("spf.fail", {"ip": "198.51.100.200", "domain": "medicalprotection.org"},
     "The sending server 198.51.100.200 is not authorised to send mail for medicalprotection.org (SPF)."),
    ("spf.not-checked", {},
     "SPF was not checked, because the sending server's address and envelope sender were not given and "
     "no trusted server recorded a result."),
    ("dkim.pass", {"domain": "medicalprotection.org"}, "A DKIM signature by medicalprotection.org verified."),
    ("dkim.fail", {"domain": "medicalprotection.org", "detail": "the body was changed after signing"},
     "A DKIM signature by medicalprotection.org did not verify: the body was changed after signing."),
    ("dkim.temperror", {"domain": "medicalprotection.org", "detail": "the DNS server failed"},
     "The DKIM key for medicalprotection.org could not be fetched: the DNS server failed."),
    ("dkim.weak-key", {"domain": "medicalprotection.org", "bits": 512},
     "A DKIM signature by medicalprotection.org uses a 512-bit key; keys shorter than 1024 bits are not "
     "accepted, so the signature does not count."),
    ("dkim.body-length-limit", {"domain": "medicalprotection.org", "signed": 48, "unsigned": 120},
     "A DKIM signature by medicalprotection.org covers only the first 48 bytes of the body; 120 bytes after "
     "that could have been added by anyone."),
    ("arc.pass", {"sealer": "lists.hospital.example"},
     "The forwarding server lists.hospital.example, which is trusted, vouches that the message passed "
     "authentication when it first arrived."),
    ("authres.trusted", {"authserv_id": "mx.hospital.example"},
     "Results recorded by the trusted receiving server mx.hospital.example were used."),
    ("authres.untrusted", {"authserv_id": "mx.hospital.example"},
     "An Authentication-Results field from mx.hospital.example was ignored, because that server is not on "
     "the trusted list; anyone can write such a field."),
    ("dmarc.pass", {"domain": "medicalprotection.org", "evidence": "a DKIM signature by medicalprotection.org verified"},
     "medicalprotection.org is verified as the author domain: a DKIM signature by medicalprotection.org verified."),
    ("dmarc.fail", {"domain": "medicalprotection.org",
                    "detail": "there is no DKIM signature and the sending server is not authorised by SPF"},
     "Nothing verifies medicalprotection.org as the author domain: there is no DKIM signature and the "
     "sending server is not authorised by SPF."),
    ("message.limits-exceeded", {"limit": "MIME nesting deeper than 20 levels"},
     "The message is larger or more deeply nested than the checker reads (MIME nesting deeper than 20 "
     "levels), so only part of it was examined."),
    ("message.not-email", {}, "The input is not an email message: it has no header fields."),
    ("envelope.invalid-client-ip", {"address": "'999.1.1.1'"},
     "The sending server's address '999.1.1.1' is not an IP address, so SPF was not checked."),
    ("dmarc.none", {"domain": "dentalprotection.org"},
     "dentalprotection.org publishes no DMARC policy, and nothing verifies it as the author domain."),
]


@pytest.mark.parametrize(("code", "fields", "message"), MESSAGES)
def test_reason_message(code: str, fields: dict[str, object], message: str) -> None:
    assert make_reason(code, **fields).message == message


def test_every_code_has_severity_and_sentence() -> None:
    for code, (severity, template) in CATALOGUE.items():
        assert isinstance(severity, Severity), code
        assert template.rstrip().endswith("."), code


def test_unknown_code_raises() -> None:
    with pytest.raises(KeyError):
        make_reason("no.such-code")
