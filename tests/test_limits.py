"""Resource limits that message content cannot argue past.

Each test sets up the input that reaches one limit and asserts the documented
outcome (docs/security.md): SPF's lookup limits end in permerror, extra DKIM
signatures are counted but not checked, the DNS budget turns further lookups into
timeouts, and a parsing limit gives message.limits-exceeded while the sender is
still judged.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import pytest

from mpsverify import DnsAnswer, DnsStatus, Envelope, Limits, Settings, SnapshotResolver, Status, Verifier
from mpsverify.allowlist import default_allowlist
from mpsverify.message import parse_message
from mpsverify.resolver import BudgetedResolver
from mpsverify.spf import check_spf

NOW = datetime(2026, 12, 10, 10, 0, tzinfo=timezone.utc)
CLIENT_IP = "192.0.2.1"
ENVELOPE = Envelope(CLIENT_IP, "mta.sender.example", "bounce@sender.example")
SIMPLE = b"From: News <news@sender.example>\r\nSubject: limits\r\n\r\nHello.\r\n"


class CountingResolver:
    """A snapshot resolver that counts queries and can sleep before each reply."""

    def __init__(self, records: dict[str, Any], delay: float = 0.0) -> None:
        self.inner = SnapshotResolver(records)
        self.delay = delay
        self.count = 0

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        self.count += 1
        if self.delay:
            time.sleep(self.delay)
        return self.inner.query(name, rdtype)


def spf_with_includes(count: int) -> dict[str, Any]:
    records: dict[str, Any] = {
        "sender.example": {"TXT": ["v=spf1 " + " ".join(f"include:i{index}.example" for index in range(count))
                                   + " -all"]}}
    for index in range(count):
        records[f"i{index}.example"] = {"TXT": ["v=spf1 -all"]}
    return records


def spf_status(records: dict[str, Any]) -> Status:
    return check_spf(ENVELOPE, SnapshotResolver(records)).status


# SPF (RFC 7208 section 4.6.4)


def test_spf_ten_lookups_allowed() -> None:
    assert spf_status(spf_with_includes(10)) is Status.FAIL


def test_spf_eleventh_lookup_permerror() -> None:
    assert spf_status(spf_with_includes(11)) is Status.PERMERROR


def test_spf_include_chain_permerror() -> None:
    records: dict[str, Any] = {"sender.example": {"TXT": ["v=spf1 include:c0.example -all"]}}
    for index in range(20):
        records[f"c{index}.example"] = {"TXT": [f"v=spf1 include:c{index + 1}.example -all"]}
    resolver = CountingResolver(records)

    assert check_spf(ENVELOPE, resolver).status is Status.PERMERROR
    assert resolver.count <= 11


def test_spf_include_loop_permerror() -> None:
    records = {"sender.example": {"TXT": ["v=spf1 include:loop.example -all"]},
               "loop.example": {"TXT": ["v=spf1 include:sender.example -all"]}}
    assert spf_status(records) is Status.PERMERROR


@pytest.mark.parametrize(("voids", "expected"), [(2, Status.FAIL), (3, Status.PERMERROR)])
def test_spf_void_lookup_limit(voids: int, expected: Status) -> None:
    mechanisms = " ".join(f"a:void{index}.example" for index in range(voids))
    assert spf_status({"sender.example": {"TXT": [f"v=spf1 {mechanisms} -all"]}}) is expected


@pytest.mark.parametrize(("hosts", "expected"), [(10, Status.FAIL), (11, Status.PERMERROR)])
def test_spf_mx_host_limit(hosts: int, expected: Status) -> None:
    records: dict[str, Any] = {"sender.example": {"TXT": ["v=spf1 mx -all"],
                                                  "MX": [f"10 m{index}.example" for index in range(hosts)]}}
    for index in range(hosts):
        records[f"m{index}.example"] = {"A": ["198.51.100.1"]}
    assert spf_status(records) is expected


def test_spf_limit_through_verifier() -> None:
    verifier = Verifier(default_allowlist(), SnapshotResolver(spf_with_includes(30)))
    result = verifier.verify(SIMPLE, ENVELOPE, NOW)

    assert result.spf.status is Status.PERMERROR
    assert "spf.permerror" in result.codes()


# DKIM signatures per message


def many_signatures(count: int) -> bytes:
    fields = b"".join(f"DKIM-Signature: v=1; a=rsa-sha256; d=s{index}.example; s=sel; c=relaxed/relaxed; "
                      f"h=from:subject; bh=AAAA; b=AAAA\r\n".encode() for index in range(count))
    return fields + SIMPLE


def test_dkim_signatures_capped_at_default() -> None:
    assert Settings().max_dkim_signatures == 10
    resolver = CountingResolver({})
    result = Verifier(default_allowlist(), resolver).verify(many_signatures(50), Envelope(), NOW)

    assert len(result.dkim) == 10
    assert "dkim.too-many-signatures" in result.codes()
    key_queries = [name for name, _ in resolver.inner.queries if "._domainkey." in name]
    assert len(key_queries) == 10


def test_dkim_signature_cap_configurable() -> None:
    settings = Settings(max_dkim_signatures=3)
    result = Verifier(default_allowlist(), SnapshotResolver({}), settings).verify(many_signatures(4), None, NOW)

    assert [signature.domain for signature in result.dkim] == ["s0.example", "s1.example", "s2.example"]
    assert "dkim.too-many-signatures" in result.codes()


def test_dkim_signatures_under_cap_all_checked() -> None:
    result = Verifier(default_allowlist(), SnapshotResolver({})).verify(many_signatures(10), None, NOW)

    assert len(result.dkim) == 10
    assert "dkim.too-many-signatures" not in result.codes()


# DNS budget per message


def test_budgeted_resolver_query_cap() -> None:
    inner = CountingResolver({"a.example": {"TXT": ["x"]}})
    budgeted = BudgetedResolver(inner, budget_seconds=60, max_queries=3)
    answers = [budgeted.query(f"n{index}.example", "TXT") for index in range(5)]

    assert [answer.status for answer in answers] == [DnsStatus.NXDOMAIN] * 3 + [DnsStatus.TIMEOUT] * 2
    assert inner.count == 3
    assert budgeted.budget_exhausted


def test_budgeted_resolver_cache_free() -> None:
    inner = CountingResolver({"a.example": {"TXT": ["x"]}})
    budgeted = BudgetedResolver(inner, budget_seconds=60, max_queries=1)
    answers = [budgeted.query("A.example.", "txt") for _ in range(3)]

    assert all(answer.records == ("x",) for answer in answers)
    assert inner.count == 1
    assert not budgeted.budget_exhausted


def test_budgeted_resolver_time_limit() -> None:
    inner = CountingResolver({}, delay=0.1)
    budgeted = BudgetedResolver(inner, budget_seconds=0.25, max_queries=100)
    started = time.monotonic()
    answers = [budgeted.query(f"n{index}.example", "TXT") for index in range(10)]
    elapsed = time.monotonic() - started

    assert answers[-1].status is DnsStatus.TIMEOUT
    assert inner.count == 3
    assert elapsed < 0.25 + 0.1 + 0.1


def test_max_dns_queries_through_verifier() -> None:
    assert Settings().max_dns_queries == 100
    resolver = CountingResolver(spf_with_includes(10))
    settings = Settings(max_dns_queries=4)
    result = Verifier(default_allowlist(), resolver, settings).verify(SIMPLE, ENVELOPE, NOW)

    assert resolver.count == 4
    assert result.spf.status is Status.TEMPERROR
    assert result.dmarc.status is Status.TEMPERROR


def test_dns_budget_seconds_through_verifier() -> None:
    assert Settings().dns_budget_seconds == 10.0
    resolver = CountingResolver(spf_with_includes(10), delay=0.1)
    settings = Settings(dns_budget_seconds=0.35)
    started = time.monotonic()
    result = Verifier(default_allowlist(), resolver, settings).verify(many_signatures(5), ENVELOPE, NOW)
    elapsed = time.monotonic() - started

    assert resolver.count <= 4
    assert result.spf.status is Status.TEMPERROR
    assert all(signature.status is Status.TEMPERROR for signature in result.dkim)
    assert elapsed < 0.35 + 0.1 + 0.5


def test_dns_budget_is_per_message() -> None:
    resolver = CountingResolver(spf_with_includes(2))
    verifier = Verifier(default_allowlist(), resolver, Settings(max_dns_queries=4))
    first = verifier.verify(SIMPLE, ENVELOPE, NOW)
    second = verifier.verify(SIMPLE.replace(b"limits", b"again"), ENVELOPE, NOW)

    assert first.spf.status is Status.FAIL
    assert second.spf.status is Status.FAIL


# Parsing limits (mpsverify.message.Limits)


def test_parsing_limit_defaults() -> None:
    limits = Limits()
    assert limits.max_bytes == 64 * 1024 * 1024
    assert limits.max_headers == 1000
    assert limits.max_depth == 20
    assert limits.max_parts == 500
    assert limits.max_part_bytes == 8 * 1024 * 1024


def judged(message: bytes, limits: Limits) -> Any:
    return Verifier(default_allowlist(), SnapshotResolver({}), Settings(limits=limits)).verify(message, None, NOW)


def nested(depth: int) -> bytes:
    head = b"From: News <news@sender.example>\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    body = b"Content-Type: text/plain\r\n\r\ninnermost\r\n"
    for level in reversed(range(depth)):
        boundary = f"b{level}".encode()
        body = (b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary + b"\r\n"
                + body + b"\r\n--" + boundary + b"--\r\n")
    return head + body


def many_parts(count: int) -> bytes:
    parts = b"".join(b"--sep\r\nContent-Type: text/plain\r\n\r\npart\r\n" for _ in range(count))
    return (b"From: News <news@sender.example>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=sep\r\n\r\n" + parts + b"--sep--\r\n")


LIMIT_CASES = [
    ("max_bytes", SIMPLE + b"x" * 5000, Limits(max_bytes=2000)),
    ("max_headers", SIMPLE.replace(b"\r\n\r\n", b"\r\n" + b"X-Filler: 1\r\n" * 50 + b"\r\n", 1),
     Limits(max_headers=40)),
    ("max_depth", nested(8), Limits(max_depth=5)),
    ("max_parts", many_parts(30), Limits(max_parts=10)),
]


@pytest.mark.parametrize(("limit", "message", "limits"), LIMIT_CASES, ids=[case[0] for case in LIMIT_CASES])
def test_parsing_limit_reported_and_judged(limit: str, message: bytes, limits: Limits) -> None:
    result = judged(message, limits)

    assert "message.limits-exceeded" in result.codes()
    assert result.author is not None
    assert result.author.domain == "sender.example"


def test_header_limit_keeps_later_from_unread() -> None:
    # Past max_headers nothing is read, so a From field there does not count:
    # the result reports the From field as missing instead of guessing.
    message = b"".join(f"X-Filler-{index}: {index}\r\n".encode() for index in range(50)) + SIMPLE
    result = judged(message, Limits(max_headers=40))

    assert "message.limits-exceeded" in result.codes()
    assert "from.missing" in result.codes()


def test_default_limits_deep_nesting() -> None:
    result = judged(nested(40), Limits())
    assert "message.limits-exceeded" in result.codes()
    assert result.author is not None


def test_default_limits_header_flood() -> None:
    message = SIMPLE.replace(b"\r\n\r\n", b"\r\n" + b"X-Flood: 1\r\n" * 5000 + b"\r\n", 1)
    result = judged(message, Limits())
    assert "message.limits-exceeded" in result.codes()
    assert result.author is not None


def test_part_bytes_limit_truncates() -> None:
    message = (b"From: a@sender.example\r\nContent-Type: text/plain\r\n\r\n" + b"y" * 5000)
    parsed = parse_message(message, Limits(max_part_bytes=1000))

    assert len(parsed.parts) == 1
    assert parsed.parts[0].truncated
    assert len(parsed.parts[0].payload) == 1000


def test_limits_exceeded_message_names_limit() -> None:
    result = judged(nested(8), Limits(max_depth=5))
    texts = [reason.message for reason in result.reasons if reason.code == "message.limits-exceeded"]
    assert texts == ["The message is larger or more deeply nested than the checker reads "
                     "(MIME nesting deeper than 5 levels), so only part of it was examined."]


def test_answer_cache_expires_entries() -> None:
    from mpsverify.resolver import AnswerCache, DnsAnswer, DnsStatus

    cache = AnswerCache(max_age=0.05)
    cache.put(("a.example", "TXT"), DnsAnswer(DnsStatus.OK, ("v=spf1 -all",)))
    assert cache.get(("a.example", "TXT")) is not None
    time.sleep(0.1)
    assert cache.get(("a.example", "TXT")) is None


def test_answer_cache_is_bounded() -> None:
    from mpsverify.resolver import AnswerCache, DnsAnswer, DnsStatus

    cache = AnswerCache(max_entries=2)
    for name in ("a.example", "b.example", "c.example"):
        cache.put((name, "TXT"), DnsAnswer(DnsStatus.NXDOMAIN))
    assert cache.get(("a.example", "TXT")) is None
    assert cache.get(("c.example", "TXT")) is not None
