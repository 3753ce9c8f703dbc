"""DKIM (RFC 6376) for every signature on a message, using dkimpy.

A DKIM signature lets a domain (the d= tag) vouch for header fields and the body
of a message. DMARC counts a signature only when it verifies and its domain
aligns with the author domain, so every signature is checked and reported, not
just the first. dkimpy does the canonicalisation and the cryptography. This
module fetches keys through our resolver, so that a DNS failure is a temperror
rather than a silent failure, and it applies the rules dkimpy leaves out:

* RFC 8301 section 3.1: rsa-sha1 signatures are not valid.
* RFC 8301 section 3.2: RSA keys shorter than 1024 bits are not valid.
* RFC 6376 section 6.1.1: a signature that does not cover From is not valid.
* RFC 6376 section 8.2: a body length limit (``l=``) that leaves body bytes
  unsigned lets anyone append content, so those bytes are measured and reported.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import dkim
from dkim.canonicalization import CanonicalizationPolicy, InvalidCanonicalizationPolicyError
from dkim.util import InvalidTagValueList, parse_tag_value

from .resolver import DnsStatus, Resolver
from .results import DkimResult, Status

logger = logging.getLogger(__name__)

MIN_RSA_BITS = 1024
ALLOWED_ALGORITHMS = frozenset({"rsa-sha256", "ed25519-sha256"})
#: Clock skew tolerated for t= and x=, in seconds; dkimpy uses the same ten hours.
CLOCK_SLOP = 36000


def verify_all(raw: bytes, resolver: Resolver, now: datetime | None = None,
               max_signatures: int = 10) -> tuple[tuple[DkimResult, ...], int]:
    """Verify up to ``max_signatures`` DKIM signatures in ``raw``.

    Returns the results, in header order, and the total number of signatures found.
    """
    try:
        verifier = dkim.DKIM(raw, minkey=MIN_RSA_BITS)
    except (dkim.DKIMException, ValueError, IndexError) as error:
        logger.debug("dkimpy could not parse the message: %s", error)
        return (), 0
    fields = [(name, value) for name, value in verifier.headers if name.lower() == b"dkim-signature"]
    results = tuple(_verify_one(verifier, field, resolver, now) for field in fields[:max_signatures])
    return results, len(fields)


def _text(value: bytes | None) -> str:
    return (value or b"").decode("ascii", errors="replace")


def _verify_one(verifier: Any, field: tuple[bytes, bytes], resolver: Resolver,
                now: datetime | None) -> DkimResult:
    try:
        sig = parse_tag_value(field[1])
    except InvalidTagValueList as error:
        return DkimResult(Status.PERMERROR, "", "", "", f"the signature cannot be parsed ({error})")
    domain, selector, algorithm = _text(sig.get(b"d")).lower(), _text(sig.get(b"s")), _text(sig.get(b"a")).lower()

    def result(status: Status, detail: str = "", **extra: Any) -> DkimResult:
        return DkimResult(status, domain, selector, algorithm, detail, **extra)

    problem = _field_problem(sig, algorithm, now)
    if problem:
        return result(Status.FAIL if algorithm == "rsa-sha1" else Status.PERMERROR, problem)
    key = _fetch_key(domain, selector, resolver)
    if isinstance(key, DkimResult):
        return result(key.status, key.detail)
    pk, bits, ktag = key
    if ktag == b"rsa" and bits < MIN_RSA_BITS:
        return result(Status.FAIL, f"the key is only {bits} bits", key_bits=bits, weak_key=True)
    if ktag.decode() != algorithm.split("-")[0]:
        return result(Status.PERMERROR, "the key type does not match the signing algorithm", key_bits=bits)
    unsigned = _unsigned_body_bytes(verifier.body, sig)
    limit = int(sig[b"l"]) if sig.get(b"l", b"").isdigit() else None
    verifier.pk, verifier.keysize, verifier.ktag, verifier.seqtlsrpt = pk, bits, ktag, False
    include = [name.lower() for name in re.split(rb"\s*:\s*", sig[b"h"])]
    try:
        valid = verifier.verify_sig_process(sig, include, field, None)
    except dkim.DKIMException as error:
        return result(Status.FAIL, _plain_error(error), key_bits=bits, body_length_limit=limit,
                      unsigned_body_bytes=unsigned)
    except (ValueError, TypeError, IndexError) as error:
        return result(Status.PERMERROR, f"the signature is malformed ({error})", key_bits=bits)
    if not valid:
        return result(Status.FAIL, "the signature does not match the signed header fields",
                      key_bits=bits, body_length_limit=limit,
                      unsigned_body_bytes=unsigned)
    return result(Status.PASS, key_bits=bits, body_length_limit=limit,
                      unsigned_body_bytes=unsigned)


def _field_problem(sig: dict[bytes, bytes], algorithm: str, now: datetime | None) -> str:
    """Check the tags before any DNS query; return a problem description or ""."""
    if algorithm == "rsa-sha1":
        return "it uses rsa-sha1, which is no longer accepted"
    if algorithm not in ALLOWED_ALGORITHMS:
        return f"the algorithm {algorithm or 'is missing and'} is not supported"
    timeless = {key: value for key, value in sig.items() if key not in (b"t", b"x")}
    try:
        dkim.validate_signature_fields(timeless)
    except dkim.DKIMException as error:
        return _plain_error(error)
    if not _valid_domain_tag(sig[b"d"]):
        return "its d= tag is not a domain name"
    # RFC 6376 section 6.1.1: a signature whose h= tag omits From must be ignored.
    if b"from" not in {name.strip().lower() for name in sig[b"h"].split(b":")}:
        return "it does not sign the From field"
    return _time_problem(sig, now)


def _valid_domain_tag(value: bytes) -> bool:
    return re.fullmatch(rb"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9])?", value) is not None \
        and b".." not in value


def _time_problem(sig: dict[bytes, bytes], now: datetime | None) -> str:
    current = int((now or datetime.now().astimezone()).timestamp())
    for tag in (b"t", b"x"):
        if tag in sig and not sig[tag].isdigit():
            return f"its {tag.decode()}= tag is not a number"
    signed = int(sig[b"t"]) if b"t" in sig else None
    if signed is not None and signed > current + CLOCK_SLOP:
        return "it claims to have been made in the future"
    if b"x" in sig:
        expires = int(sig[b"x"])
        if expires < current - CLOCK_SLOP:
            return "it has expired"
        if signed is not None and expires < signed:
            return "it expires before it was made"
    return ""


def _fetch_key(domain: str, selector: str, resolver: Resolver) -> tuple[Any, int, bytes] | DkimResult:
    name = f"{selector}._domainkey.{domain}"
    answer = resolver.query(name, "TXT")
    if answer.is_temporary_failure:
        return DkimResult(Status.TEMPERROR, domain, selector, "", f"{answer.describe} for {name}")
    if answer.status is not DnsStatus.OK or not answer.records:
        return DkimResult(Status.PERMERROR, domain, selector, "", f"no key is published at {name}")
    record = answer.records[0].encode("latin-1", errors="replace")
    try:
        pk, bits, ktag, _service = dkim.evaluate_pk(name.encode(), record)
    except (dkim.DKIMException, ValueError, TypeError) as error:
        return DkimResult(Status.PERMERROR, domain, selector, "", f"the published key is invalid ({error})")
    return pk, int(bits), bytes(ktag)


def _unsigned_body_bytes(body: bytes, sig: dict[bytes, bytes]) -> int:
    length = sig.get(b"l")
    if length is None or not length.isdigit():
        return 0
    try:
        policy = CanonicalizationPolicy.from_c_value(sig.get(b"c", b"simple/simple"))
    except InvalidCanonicalizationPolicyError:
        return 0
    return max(0, len(policy.canonicalize_body(body)) - int(length))


def _plain_error(error: Exception) -> str:
    text = str(error)
    if text.startswith("body hash mismatch"):
        return "the body was changed after signing"
    return text


def passing(results: Sequence[DkimResult]) -> list[DkimResult]:
    """Return the signatures that verified."""
    return [result for result in results if result.status is Status.PASS]
