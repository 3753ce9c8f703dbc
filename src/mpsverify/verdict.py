"""Combine the checks into one verdict. Pure: no I/O, only the results given.

Precedence, when several verdicts apply: spoofed, impersonation, suspicious,
unverified, partner, authentic; unrelated only when none applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .allowlist import Entity
from .results import DkimResult, DmarcResult, SpfResult, Status, Verdict


@dataclass(frozen=True)
class Evidence:
    """What the verdict depends on, gathered by :mod:`mpsverify.verify`."""

    #: The From field is missing, invalid or ambiguous.
    from_problem: bool
    #: An entity's domain appears in the From field text, Sender or MAIL FROM.
    claims_entity: bool
    author_entity: Entity | None
    spf: SpfResult
    dkim: Sequence[DkimResult]
    dmarc: DmarcResult
    #: The content imitates an entity although the author domain is not one.
    posing: bool
    #: Risky content: deceptive links, dangerous attachments.
    risky: bool


def decide(evidence: Evidence) -> Verdict:
    """Return the verdict for ``evidence``."""
    if evidence.from_problem:
        if evidence.claims_entity:
            return Verdict.SPOOFED
        return Verdict.IMPERSONATION if evidence.posing else Verdict.UNRELATED
    entity = evidence.author_entity
    if entity is None:
        return Verdict.IMPERSONATION if evidence.posing else Verdict.UNRELATED
    if not is_authenticated(evidence.dmarc):
        return Verdict.UNVERIFIED if is_undecided(evidence) else Verdict.SPOOFED
    if evidence.risky or has_unsigned_content(evidence.dkim):
        return Verdict.SUSPICIOUS
    return Verdict.AUTHENTIC if entity.kind == "organisation" else Verdict.PARTNER


def is_authenticated(dmarc: DmarcResult) -> bool:
    """True when DMARC found an aligned pass, local or attested by a trusted party."""
    return dmarc.status is Status.PASS


def is_undecided(evidence: Evidence) -> bool:
    """True when authentication could not be decided either way.

    That is a DNS failure, or nothing to check at all: SPF was not checked and the
    message carries no DKIM signature.
    """
    if evidence.dmarc.status is Status.TEMPERROR:
        return True
    return evidence.spf.status is Status.NOT_CHECKED and not evidence.dkim


def has_unsigned_content(dkim: Sequence[DkimResult]) -> bool:
    """True when body bytes lie outside a passing signature's ``l=`` length.

    Appended content could come from anyone, so it never gets full trust, even
    when another check passes for the author domain (RFC 6376 section 8.2).
    """
    return any(result.status is Status.PASS and result.unsigned_body_bytes > 0 for result in dkim)
