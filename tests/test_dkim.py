"""DKIM: every signature, RFC 8301 rules, l= measurement and DNS failures."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timezone

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mpsverify.dkim_verify import verify_all
from mpsverify.resolver import SnapshotResolver
from mpsverify.results import Status

MESSAGE = (b"From: News <news@example.org>\r\nTo: a@b.example\r\nSubject: test\r\n"
           b"Date: Tue, 01 Dec 2026 09:30:00 +0000\r\n\r\nHello.\r\n")
NOW = datetime(2026, 12, 10, tzinfo=timezone.utc)


def _probable_prime(bits: int) -> int:
    """Return a random prime; cryptography refuses to generate keys under 1024 bits."""
    while True:
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1  # two top bits: p * q has 2 * bits bits
        if all(pow(witness, candidate - 1, candidate) == 1 for witness in (2, 3, 5, 7, 11, 13, 17, 19, 23)):
            return candidate


def _small_rsa_key(bits: int) -> rsa.RSAPrivateKey:
    exponent = 65537
    while True:
        p, q = _probable_prime(bits // 2), _probable_prime(bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and phi % exponent:
            break
    d = pow(exponent, -1, phi)
    public = rsa.RSAPublicNumbers(exponent, p * q)
    numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), public)
    return numbers.private_key()


def rsa_key(bits: int) -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits) if bits >= 1024 else _small_rsa_key(bits)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode()


def ed_key() -> tuple[bytes, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(seed), "v=DKIM1; k=ed25519; p=" + base64.b64encode(public).decode()


RSA_2048 = rsa_key(2048)
RSA_512 = rsa_key(512)
ED = ed_key()


def sign(message: bytes, selector: str, private: bytes, algorithm: bytes = b"rsa-sha256", **extra: object) -> bytes:
    signature = dkim.sign(message, selector.encode(), b"example.org", private, signature_algorithm=algorithm,
                          include_headers=[b"from", b"to", b"subject", b"date"], **extra)
    return bytes(signature) + message


def zone(**selectors: str) -> SnapshotResolver:
    return SnapshotResolver({f"{name}._domainkey.example.org": {"TXT": [record]}
                             for name, record in selectors.items()})


def test_rsa_and_ed25519_both_checked() -> None:
    signed = sign(MESSAGE, "rsa", RSA_2048[0])
    signed = sign(signed, "ed", ED[0], b"ed25519-sha256")
    results, total = verify_all(signed, zone(rsa=RSA_2048[1], ed=ED[1]), NOW)
    assert total == 2
    assert [(r.algorithm, r.status) for r in results] == [("ed25519-sha256", Status.PASS),
                                                          ("rsa-sha256", Status.PASS)]


def test_altered_body_fails() -> None:
    signed = sign(MESSAGE, "rsa", RSA_2048[0]).replace(b"Hello.", b"Hellp.")
    (result,), _ = verify_all(signed, zone(rsa=RSA_2048[1]), NOW)
    assert result.status is Status.FAIL
    assert result.detail == "the body was changed after signing"


def test_weak_key_is_not_valid() -> None:
    signed = sign(MESSAGE, "old", RSA_512[0])
    (result,), _ = verify_all(signed, zone(old=RSA_512[1]), NOW)
    assert result.status is Status.FAIL
    assert result.weak_key
    assert result.key_bits == 512


def test_sha1_is_not_valid() -> None:
    signed = sign(MESSAGE, "rsa", RSA_2048[0], b"rsa-sha1")
    (result,), _ = verify_all(signed, zone(rsa=RSA_2048[1]), NOW)
    assert result.status is Status.FAIL


def test_body_length_limit_measures_unsigned_bytes() -> None:
    signed = sign(MESSAGE, "rsa", RSA_2048[0], length=True) + b"Appended by someone else.\r\n"
    (result,), _ = verify_all(signed, zone(rsa=RSA_2048[1]), NOW)
    assert result.status is Status.PASS
    assert result.body_length_limit == len(b"Hello.\r\n")
    assert result.unsigned_body_bytes == len(b"Appended by someone else.\r\n")


def test_servfail_is_temperror() -> None:
    signed = sign(MESSAGE, "rsa", RSA_2048[0])
    resolver = SnapshotResolver({"rsa._domainkey.example.org": {"TXT": "SERVFAIL"}})
    (result,), _ = verify_all(signed, resolver, NOW)
    assert result.status is Status.TEMPERROR


def test_missing_key_is_permerror() -> None:
    (result,), _ = verify_all(sign(MESSAGE, "rsa", RSA_2048[0]), zone(), NOW)
    assert result.status is Status.PERMERROR


@pytest.mark.parametrize("field", [
    b"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=rsa; h=from; bh=; b=\r\n",
    b"DKIM-Signature: garbage without tags\r\n",
    b"DKIM-Signature: v=1; a=rsa-sha256; d=exa(mple.org; s=rsa; h=from; bh=AA==; b=AA==\r\n",
    b"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=rsa; h=from; bh=AA==; b=AA==; l=x\r\n",
])
def test_malformed_signature_is_a_result(field: bytes) -> None:
    (result,), _ = verify_all(field + MESSAGE, zone(rsa=RSA_2048[1]), NOW)
    assert result.status in (Status.PERMERROR, Status.FAIL)


def test_signature_time_is_judged_at_given_moment() -> None:
    signed = sign(MESSAGE, "rsa", RSA_2048[0])
    (result,), _ = verify_all(signed, zone(rsa=RSA_2048[1]), datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert result.status is Status.PERMERROR
    assert result.detail == "it claims to have been made in the future"


def test_signature_cap() -> None:
    signed = MESSAGE
    for _ in range(4):
        signed = sign(signed, "rsa", RSA_2048[0])
    results, total = verify_all(signed, zone(rsa=RSA_2048[1]), NOW, max_signatures=2)
    assert (len(results), total) == (2, 4)


def test_signature_without_from_is_permerror() -> None:
    # dkimpy refuses to sign without From, so the h= tag is edited after signing.
    signed = sign(MESSAGE, "rsa", RSA_2048[0])
    assert b"h=from : " in signed
    signed = signed.replace(b"h=from : ", b"h=", 1)
    (result,), _ = verify_all(signed, zone(rsa=RSA_2048[1]), NOW)
    assert result.status is Status.PERMERROR
    assert result.detail == "it does not sign the From field"
