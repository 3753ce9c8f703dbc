"""The strict From parser: one mailbox or a precise error, never a guess."""

from __future__ import annotations

import pytest

from mpsverify.addresses import AddressError, parse_mailbox_list

VALID = [
    ('"Medical Protection" <news@medicalprotection.org>', "news@medicalprotection.org", "Medical Protection"),
    ("news@medicalprotection.org", "news@medicalprotection.org", ""),
    ("<@evil.example,@relay.example:news@medicalprotection.org>", "news@medicalprotection.org", ""),
    ("=?utf-8?B?TWVkaWNhbCBQcm90ZWN0aW9u?=\r\n <membership@medicalprotection.org>",
     "membership@medicalprotection.org", "Medical Protection"),
    ('"Médical Protection – Équipe" <membership@medicalprotection.org>',
     "membership@medicalprotection.org", "Médical Protection – Équipe"),
    ("Dr. A. Smith <a.smith@nhs.net>", "a.smith@nhs.net", "Dr. A. Smith"),
    ("news@medicalprotection.org (Medical Protection)", "news@medicalprotection.org", ""),
    ("x@MedicalProtection.ORG", "x@medicalprotection.org", ""),
    ("x@medicalprotectіon.org", "x@xn--medicalprotecton-nwn.org", ""),
]

INVALID = [
    ("news@attacker.example@medicalprotection.org", "the address has more than one @ sign"),
    ("news@medicalprotection.org>", "a closing angle bracket has no opening one"),
    ("<news@medicalprotection.org", "an angle bracket is not closed"),
    (" : <attacker@evil.example>", "group syntax is not allowed for an author"),
    ("Team: a@b.example;", "group syntax is not allowed for an author"),
    ('"unterminated <a@b.example>', "a quoted string is not closed"),
    ("", "the field is empty"),
    ("Medical Protection", "the address has no @ sign"),
    ("<a@b.example> trailing", "text follows the angle-bracket address"),
]


@pytest.mark.parametrize(("value", "address", "display_name"), VALID)
def test_valid_mailbox(value: str, address: str, display_name: str) -> None:
    (mailbox,) = parse_mailbox_list(value).mailboxes
    assert mailbox.address == address
    assert mailbox.display_name == display_name


@pytest.mark.parametrize(("value", "message"), INVALID)
def test_invalid_field_message(value: str, message: str) -> None:
    with pytest.raises(AddressError) as raised:
        parse_mailbox_list(value)
    assert str(raised.value) == message


def test_encoded_word_address_stays_in_display_name() -> None:
    value = ("=?utf-8?B?TWVkaWNhbCBQcm90ZWN0aW9uIDxtZW1iZXJzaGlwQG1lZGljYWxwcm90ZWN0aW9uLm9yZz4s?= "
             "<x7@evil.example>")
    (mailbox,) = parse_mailbox_list(value).mailboxes
    assert mailbox.address == "x7@evil.example"
    assert "membership@medicalprotection.org" in mailbox.display_name


def test_two_mailboxes_are_both_returned() -> None:
    mailboxes = parse_mailbox_list("news@medicalprotection.org, attacker@evil.example").mailboxes
    assert [m.domain for m in mailboxes] == ["medicalprotection.org", "evil.example"]
