"""Run every check on one message and build the :class:`Verification`.

This is the only module that sequences the checks. Each check is a function of
its inputs and the resolver, and :mod:`mpsverify.verdict` decides from the results.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from . import arc_verify, authres_trust, dkim_verify, dmarc
from .addresses import AddressError, parse_mailbox_list
from .allowlist import Allowlist, Entity, default_allowlist
from .content import ContentReport, Link, analyse_content
from .message import DEFAULT_LIMITS, Limits, ParsedMessage, parse_message
from .reasons import make_reason
from .resolver import AnswerCache, BudgetedResolver, LiveResolver, Resolver
from .results import (ArcResult, Author, AuthresResult, DkimResult, DmarcResult, LinkResult, Reason, SpfResult,
                      Status, Verdict, Verification)
from .spf import Envelope, check_spf, mail_from_domain
from .verdict import Evidence, decide

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """Trust and resource settings a mail filter or script passes once."""

    #: authserv-ids whose Authentication-Results fields are trusted.
    trusted_authserv_ids: tuple[str, ...] = ()
    #: ARC sealer domains whose recorded results are trusted.
    trusted_arc_sealers: tuple[str, ...] = ()
    limits: Limits = DEFAULT_LIMITS
    #: DKIM signatures checked per message; the rest are reported, not checked.
    max_dkim_signatures: int = 10
    #: Total seconds of DNS lookups allowed for one message.
    dns_budget_seconds: float = 10.0
    #: DNS queries allowed for one message, across all checks.
    max_dns_queries: int = 100
    #: Seconds a DNS answer is reused for later messages of the same Verifier.
    dns_cache_seconds: float = 300.0


class Verifier:
    """Checks messages against one allowlist, resolver and settings.

    Create one per process or thread and call :meth:`verify` for each message;
    DNS answers are cached across messages for ``Settings.dns_cache_seconds``.
    """

    def __init__(self, allowlist: Allowlist | None = None, resolver: Resolver | None = None,
                 settings: Settings | None = None) -> None:
        self.allowlist = allowlist if allowlist is not None else default_allowlist()
        self.resolver = resolver if resolver is not None else LiveResolver()
        self.settings = settings or Settings()
        self._dns_cache = AnswerCache(self.settings.dns_cache_seconds)

    def verify(self, message: bytes, envelope: Envelope | None = None, now: datetime | None = None) -> Verification:
        """Check one raw message; malformed mail gives a result, not an exception (fuzz-tested)."""
        started = time.perf_counter()
        parsed = parse_message(bytes(message), self.settings.limits)
        if not parsed.is_message:
            return Verification(Verdict.UNRELATED, (make_reason("message.not-email"),))
        resolver = BudgetedResolver(self.resolver, self.settings.dns_budget_seconds,
                                    self.settings.max_dns_queries, self._dns_cache)
        result = _Run(self, parsed, envelope or Envelope(), resolver, now).result()
        logger.debug("verdict %s in %.1f ms", result.verdict.value, (time.perf_counter() - started) * 1000)
        return result


def verify(message: bytes, *, client_ip: str | None = None, helo: str | None = None,
           mail_from: str | None = None, allowlist: Allowlist | None = None,
           resolver: Resolver | None = None, trusted_authserv_ids: Sequence[str] = (),
           trusted_arc_sealers: Sequence[str] = (), now: datetime | None = None) -> Verification:
    """Check one raw message; a convenience wrapper around :class:`Verifier`.

    ``mail_from=""`` is the null reverse-path. Without ``resolver`` the system's
    DNS servers are queried.
    """
    settings = Settings(tuple(trusted_authserv_ids), tuple(trusted_arc_sealers))
    verifier = Verifier(allowlist, resolver, settings)
    return verifier.verify(message, Envelope(client_ip, helo, mail_from), now)


@dataclass
class _Run:
    """The checks for one message; a private helper of :class:`Verifier`."""

    verifier: Verifier
    message: ParsedMessage
    envelope: Envelope
    resolver: Resolver
    now: datetime | None
    reasons: list[Reason] = field(default_factory=list)

    def add(self, code: str, **fields: object) -> None:
        self.reasons.append(make_reason(code, **fields))

    def result(self) -> Verification:
        allowlist = self.verifier.allowlist
        author, from_problem = self.author()
        author_entity = allowlist.entity_for_domain(author.domain) if author else None
        spf = self.spf()
        dkim = self.dkim()
        arc, arc_results = self.arc()
        trusted = self.authres()
        dmarc_result = self.dmarc(author, spf, dkim, trusted + arc_results)
        content = analyse_content(self.message, author, author_entity, allowlist)
        self.entity_reason(author, author_entity)
        self.reasons.extend(content.reasons)
        for limit in self.message.limits_hit:
            self.add("message.limits-exceeded", limit=limit)
        evidence = Evidence(from_problem, self.claims_entity(author_entity), author_entity, spf, dkim,
                            dmarc_result, content.posing_as is not None, content.risky)
        return Verification(
            verdict=decide(evidence),
            reasons=tuple(self.reasons),
            author=author,
            entity=author_entity.name if author_entity else "",
            claimed_entity=_claimed(author_entity, content),
            spf=spf, dkim=dkim, arc=arc, dmarc=dmarc_result, authres=trusted + arc_results,
            links=tuple(_link_result(link) for link in content.links),
        )

    # From field

    def author(self) -> tuple[Author | None, bool]:
        fields = self.message.get_all("from")
        if not fields:
            self.add("from.missing")
            return None, True
        if len(fields) > 1:
            self.add("from.multiple-headers", count=len(fields))
            return None, True
        try:
            mailboxes = parse_mailbox_list(fields[0].value).mailboxes
        except AddressError as error:
            self.add("from.invalid", detail=str(error))
            return None, True
        if len(mailboxes) > 1:
            self.add("from.multiple-addresses", count=len(mailboxes))
            return None, True
        return mailboxes[0], False

    def claims_entity(self, author_entity: Entity | None) -> bool:
        """True when the From text, Sender or MAIL FROM names an entity domain."""
        if author_entity is not None:
            return True
        allowlist = self.verifier.allowlist
        texts = [header.value.lower() for header in self.message.get_all("from")]
        texts += [header.value.lower() for header in self.message.get_all("sender")]
        if any(domain in text for text in texts for domain, _ in allowlist.all_domains()):
            return True
        envelope_domain = mail_from_domain(self.envelope.mail_from or "")
        return bool(envelope_domain and allowlist.entity_for_domain(envelope_domain))

    def entity_reason(self, author: Author | None, entity: Entity | None) -> None:
        if author is None:
            return
        if entity is None:
            self.add("entity.none", domain=author.domain)
        else:
            self.add(f"entity.{entity.kind}", domain=author.domain, entity=entity.name,
                     description=entity.description or entity.kind)

    # Protocols

    def spf(self) -> SpfResult:
        envelope = self.envelope
        null_sender = envelope.mail_from is not None and envelope.mail_from.strip() in ("", "<>")
        if envelope.mail_from and not null_sender and mail_from_domain(envelope.mail_from) is None:
            self.add("envelope.invalid-mail-from", address=repr(envelope.mail_from))
        result = check_spf(envelope, self.resolver)
        ip = envelope.client_ip or "unknown"
        if result.status is Status.NOT_CHECKED and envelope.client_ip and not _is_ip(envelope.client_ip):
            self.add("envelope.invalid-client-ip", address=repr(envelope.client_ip))
        elif result.status is Status.NOT_CHECKED:
            self.add("spf.not-checked")
        elif result.domain:
            code = f"spf.{result.status.value}"
            self.add(code, ip=ip, domain=result.domain, detail=result.explanation or "no detail")
        return result

    def dkim(self) -> tuple[DkimResult, ...]:
        limit = self.verifier.settings.max_dkim_signatures
        results, total = dkim_verify.verify_all(self.message.raw, self.resolver, self.now, limit)
        if total > limit:
            self.add("dkim.too-many-signatures", count=total, limit=limit)
        if not results:
            self.add("dkim.none")
        for result in results:
            self.dkim_reasons(result)
        return results

    def dkim_reasons(self, result: DkimResult) -> None:
        domain = result.domain or "an unnamed domain"
        if result.weak_key:
            self.add("dkim.weak-key", domain=domain, bits=result.key_bits)
        self.add(f"dkim.{result.status.value}", domain=domain, detail=result.detail)
        if result.unsigned_body_bytes:
            self.add("dkim.body-length-limit", domain=domain, signed=result.body_length_limit,
                     unsigned=result.unsigned_body_bytes)

    def arc(self) -> tuple[ArcResult, tuple[AuthresResult, ...]]:
        if not self.message.get_all("arc-seal"):
            return ArcResult(Status.NONE), ()
        sealers = self.verifier.settings.trusted_arc_sealers
        result, recorded = arc_verify.verify_arc(self.message.raw, self.resolver, sealers)
        if result.status is Status.PASS:
            self.add("arc.pass" if result.trusted else "arc.untrusted", sealer=result.latest_sealer)
        elif result.status in (Status.FAIL, Status.PERMERROR, Status.TEMPERROR):
            self.add("arc.fail", detail=result.detail)
        return result, recorded

    def authres(self) -> tuple[AuthresResult, ...]:
        ids = self.verifier.settings.trusted_authserv_ids
        trusted, ignored = authres_trust.split_trusted(self.message.headers, ids)
        for authserv_id in sorted({result.authserv_id for result in trusted}):
            self.add("authres.trusted", authserv_id=authserv_id)
        for authserv_id in ignored:
            self.add("authres.untrusted", authserv_id=authserv_id)
        return trusted

    def dmarc(self, author: Author | None, spf: SpfResult, dkim: Sequence[DkimResult],
              attested: Sequence[AuthresResult]) -> DmarcResult:
        if author is None:
            return DmarcResult(Status.NONE, detail="no single author address")
        result = dmarc.evaluate(author.domain, spf, dkim, self.resolver, attested)
        if result.status is Status.PASS:
            self.add("dmarc.pass", domain=author.domain, evidence=_evidence(result, dkim, spf))
        elif result.status is Status.NONE:
            self.add("dmarc.none", domain=author.domain)
        else:
            self.add(f"dmarc.{result.status.value}", domain=author.domain, detail=result.detail)
        return result


def _evidence(result: DmarcResult, dkim: Sequence[DkimResult], spf: SpfResult) -> str:
    parts = []
    if result.dkim_aligned:
        parts.append("a DKIM signature by " + ", ".join(
            sorted({r.domain for r in dkim if r.status is Status.PASS})) + " verified")
    if result.spf_aligned:
        parts.append(f"the sending server is authorised for {spf.domain}")
    if result.attested:
        parts.append("a trusted server recorded that authentication passed")
    return " and ".join(parts)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return True


def _link_result(link: Link) -> LinkResult:
    return LinkResult(link.url, link.target, link.classification.value, link.host,
                      link.entity.name if link.entity else "", link.source, link.text, link.rewriters, link.opaque)


def _claimed(entity: Entity | None, content: ContentReport) -> str:
    if entity is not None:
        return entity.name
    return content.posing_as.name if content.posing_as else ""
