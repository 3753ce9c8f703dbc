"""DMARC (RFC 9989): is the author domain in the From field verified?

DMARC ties the address a reader sees to what SPF and DKIM verified: it passes
when a verified DKIM signature or an SPF pass is for a domain that aligns with
the author domain. The policy record and the organisational domain are found by
walking the DNS tree upward from the domain (the "DNS Tree Walk" of RFC 9989),
not from a public suffix list. checkdmarc parses the records.

NOTE: the walk, psd and np rules here follow the DMARCbis drafts that became
RFC 9989; they were not checked line by line against the published RFC text.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .authres_trust import property_value
from .resolver import DnsStatus, Resolver
from .results import AuthresResult, DkimResult, DmarcResult, SpfResult, Status
from .spf import mail_from_domain

logger = logging.getLogger(__name__)

#: RFC 9989 (DNS Tree Walk): a walk starting at a name of more than this many labels
#: jumps to the name made of its last seven labels after the first query.
MAX_WALK_LABELS = 8
_KNOWN_TAGS = ("v", "p", "sp", "np", "adkim", "aspf", "psd", "t", "fo")


class DiscoveryTempError(Exception):
    """A DNS failure stopped the tree walk; the result must be temperror."""


@dataclass(frozen=True)
class PolicyRecord:
    """The tags of one valid DMARC record, with defaults filled in."""

    domain: str
    p: str = "none"
    sp: str = "none"
    np: str = "none"
    adkim: str = "r"
    aspf: str = "r"
    psd: str = "u"
    testing: bool = False


def walk_names(domain: str) -> list[str]:
    """Return the names whose _dmarc records the tree walk queries, in order.

    RFC 9989 (DNS Tree Walk): start at the domain. Then, for a name of eight or
    more labels, go to its last seven labels. Then remove one label at a time down
    to the top-level domain.
    """
    labels = domain.rstrip(".").lower().split(".")
    names = [".".join(labels)]
    start = len(labels) - 1
    if len(labels) >= MAX_WALK_LABELS:
        start = MAX_WALK_LABELS - 1
    for count in range(start, 0, -1):
        name = ".".join(labels[-count:])
        if name != names[-1]:
            names.append(name)
    return names


def fetch_record(name: str, resolver: Resolver) -> PolicyRecord | None:
    """Return the one valid DMARC record at _dmarc.``name``, or None.

    Raises DiscoveryTempError on a temporary DNS failure. Several records, or
    none that begins with v=DMARC1, count as no record (RFC 9989, policy discovery).
    """
    answer = resolver.query(f"_dmarc.{name}", "TXT")
    if answer.is_temporary_failure:
        raise DiscoveryTempError(f"{answer.describe} for _dmarc.{name}")
    if answer.status is not DnsStatus.OK:
        return None
    candidates = [text for text in answer.records if text.strip().lower().startswith("v=dmarc1")]
    if len(candidates) != 1:
        return None
    return parse_record(candidates[0], name)


@functools.lru_cache(maxsize=4096)
def parse_record(text: str, domain: str) -> PolicyRecord | None:
    """Parse one record with checkdmarc; None when it is not a valid DMARC record.

    Reporting tags are dropped first: evaluation does not use them, and checkdmarc
    would query DNS to check their destinations.
    """
    from checkdmarc.dmarc import DMARCError, parse_dmarc_record

    evaluated_tags = [part.strip() for part in text.split(";")
                      if part.strip() and part.split("=", 1)[0].strip().lower() in _KNOWN_TAGS]
    try:
        parsed: Any = parse_dmarc_record("; ".join(evaluated_tags), domain)
    except (DMARCError, ValueError) as error:
        logger.debug("invalid DMARC record at %s: %s", domain, error)
        return None
    tags = {key: str(value["value"]).lower() for key, value in parsed["tags"].items()}
    return PolicyRecord(domain, tags.get("p", "none"), tags.get("sp", "none"), tags.get("np", "none"),
                        tags.get("adkim", "r"), tags.get("aspf", "r"), tags.get("psd", "u"),
                        tags.get("t", "n") == "y")


class Discovery:
    """Policy and organisational-domain discovery with a per-message record cache."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self._records: dict[str, PolicyRecord | None] = {}

    def record(self, name: str) -> PolicyRecord | None:
        if name not in self._records:
            self._records[name] = fetch_record(name, self._resolver)
        return self._records[name]

    def policy(self, domain: str) -> PolicyRecord | None:
        """Return the record that governs ``domain``: its own, else the first found above it."""
        for name in walk_names(domain):
            found = self.record(name)
            if found is not None:
                return found
        return None

    def organisational_domain(self, domain: str) -> str:
        """Return the organisational domain of ``domain`` (RFC 9989, organizational domain discovery).

        A record with psd=n marks its domain as the organisational domain; psd=y
        marks a public suffix, so the name one label below it is. Otherwise the
        valid record with the fewest labels wins, and with no record at all the
        domain is its own organisational domain.
        """
        names = walk_names(domain)
        best = ""
        for index, name in enumerate(names):
            found = self.record(name)
            if found is None:
                continue
            if found.psd == "n":
                return name
            if found.psd == "y":
                return names[index - 1] if index > 0 else name
            best = name
        return best or domain.lower()

    def nonexistent(self, domain: str) -> bool:
        """Return True when ``domain`` does not exist: NXDOMAIN for A, AAAA and MX."""
        return all(self._resolver.query(domain, rdtype).status is DnsStatus.NXDOMAIN
                   for rdtype in ("A", "AAAA", "MX"))

    def aligned(self, identifier: str, author: str, mode: str) -> bool:
        """Return True when ``identifier`` aligns with ``author`` in mode "s" or "r"."""
        identifier, author = identifier.lower().rstrip("."), author.lower().rstrip(".")
        if identifier == author:
            return True
        if mode == "s":
            return False
        return self.organisational_domain(identifier) == self.organisational_domain(author)


def evaluate(author_domain: str, spf: SpfResult, dkim: Sequence[DkimResult], resolver: Resolver,
             attested: Sequence[AuthresResult] = ()) -> DmarcResult:
    """Evaluate DMARC for ``author_domain`` from local results and attested ones."""
    discovery = Discovery(resolver)
    try:
        record = discovery.policy(author_domain)
        base = _base_result(author_domain, record, discovery)
        dkim_aligned = any(discovery.aligned(result.domain, author_domain, _mode(record, "adkim"))
                           for result in dkim if result.status is Status.PASS and not result.weak_key)
        spf_aligned = spf.status is Status.PASS and bool(spf.domain) and \
            discovery.aligned(spf.domain, author_domain, _mode(record, "aspf"))
        vouched = _attested_alignment(author_domain, attested, discovery, record)
    except DiscoveryTempError as error:
        return DmarcResult(Status.TEMPERROR, author_domain, detail=str(error))
    if dkim_aligned or spf_aligned or vouched:
        return replace(base, status=Status.PASS, dkim_aligned=dkim_aligned, spf_aligned=spf_aligned,
                       attested=vouched and not (dkim_aligned or spf_aligned))
    if _temporary(spf, dkim):
        return replace(base, status=Status.TEMPERROR, detail="a DNS lookup for SPF or DKIM failed")
    return replace(base, status=Status.FAIL if record else Status.NONE,
                   detail=_failure_detail(spf, dkim))


def _mode(record: PolicyRecord | None, tag: str) -> str:
    return getattr(record, tag) if record else "r"


def _base_result(author_domain: str, record: PolicyRecord | None, discovery: Discovery) -> DmarcResult:
    if record is None:
        return DmarcResult(Status.NONE, author_domain, organisational_domain=author_domain)
    organisational = discovery.organisational_domain(author_domain)
    if record.domain == author_domain:
        policy = record.p
    elif record.np != "none" and discovery.nonexistent(author_domain):
        policy = record.np
    else:
        policy = record.sp
    if record.testing:
        policy = f"{policy} (testing)"
    return DmarcResult(Status.NONE, author_domain, record.domain, organisational, policy)


def _attested_alignment(author_domain: str, attested: Sequence[AuthresResult], discovery: Discovery,
                        record: PolicyRecord | None) -> bool:
    for result in attested:
        if result.status != "pass":
            continue
        if result.method == "dmarc" and property_value(result, "header.from").lower() == author_domain:
            return True
        if result.method == "dkim":
            domain = property_value(result, "header.d") or property_value(result, "header.i").rpartition("@")[2]
            if domain and discovery.aligned(domain, author_domain, _mode(record, "adkim")):
                return True
        if result.method == "spf":
            mail_from = property_value(result, "smtp.mailfrom")
            domain = (mail_from_domain(mail_from) or "") if "@" in mail_from else mail_from.lower()
            if domain and discovery.aligned(domain, author_domain, _mode(record, "aspf")):
                return True
    return False


def _temporary(spf: SpfResult, dkim: Sequence[DkimResult]) -> bool:
    return spf.status is Status.TEMPERROR or any(result.status is Status.TEMPERROR for result in dkim)


_SPF_FAILURES = {
    Status.FAIL: "the sending server is not authorised by SPF",
    Status.SOFTFAIL: "SPF says the sending server is probably not authorised",
    Status.NEUTRAL: "SPF makes no statement about the sending server",
    Status.NONE: "the envelope sender's domain has no usable SPF record",
    Status.TEMPERROR: "the SPF check failed on a DNS error",
    Status.PERMERROR: "the SPF record is broken",
}


def _failure_detail(spf: SpfResult, dkim: Sequence[DkimResult]) -> str:
    parts = []
    passing = [result.domain for result in dkim if result.status is Status.PASS]
    if passing:
        parts.append("DKIM signatures verified only for " + ", ".join(sorted(set(passing))))
    elif dkim:
        parts.append("no DKIM signature verified")
    else:
        parts.append("there is no DKIM signature")
    if spf.status is Status.PASS:
        parts.append(f"SPF passed only for {spf.domain}")
    elif spf.status is Status.NOT_CHECKED:
        parts.append("SPF was not checked")
    else:
        parts.append(_SPF_FAILURES.get(spf.status, "SPF did not pass"))
    return " and ".join(parts)
