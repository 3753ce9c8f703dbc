"""Result types shared by every check.

Each protocol check returns a frozen dataclass with an explicit status, and the
verifier combines them into one :class:`Verification`. Nothing here performs I/O.
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field
from typing import Any


class Status(enum.Enum):
    """Outcome of one authentication method, with the names RFC 8601 uses."""

    PASS = "pass"
    #: The check ran and the evidence contradicts the claimed identity.
    FAIL = "fail"
    #: SPF only: the domain states that the host is probably not authorised.
    SOFTFAIL = "softfail"
    #: SPF only: the domain makes no statement about this host.
    NEUTRAL = "neutral"
    #: Nothing to check: no record, no signature or no identity.
    NONE = "none"
    #: A transient failure, typically DNS; a later attempt may reach a conclusion.
    TEMPERROR = "temperror"
    #: A permanent error in a record or signature; retrying will not help.
    PERMERROR = "permerror"
    #: The check could not run because its input was missing.
    NOT_CHECKED = "not-checked"


class Verdict(enum.Enum):
    """Verdict on "is this message really from MPS or a partner acting for it?"."""

    AUTHENTIC = "authentic"
    PARTNER = "partner"
    UNVERIFIED = "unverified"
    UNRELATED = "unrelated"
    SUSPICIOUS = "suspicious"
    SPOOFED = "spoofed"
    IMPERSONATION = "impersonation"

    @property
    def exit_status(self) -> int:
        """Exit status the command-line tool uses for this verdict."""
        return _EXIT_STATUS[self]


_EXIT_STATUS = {
    Verdict.AUTHENTIC: 0,
    Verdict.PARTNER: 0,
    Verdict.UNRELATED: 1,
    Verdict.UNVERIFIED: 1,
    Verdict.SUSPICIOUS: 2,
    Verdict.SPOOFED: 2,
    Verdict.IMPERSONATION: 2,
}


class Severity(enum.Enum):
    """How much a finding matters to a person reading the result."""

    #: Evidence in favour of the message.
    GOOD = "good"
    #: Context with no bearing on trust by itself.
    INFO = "info"
    #: Weakens trust or shows that something could not be checked.
    WARNING = "warning"
    #: Evidence of forgery or of a risky payload.
    DANGER = "danger"


@dataclass(frozen=True)
class Reason:
    """One finding, with a stable code and a sentence for a helpdesk reader."""

    code: str
    severity: Severity
    message: str


@dataclass(frozen=True)
class SpfResult:
    """SPF result for the MAIL FROM identity, or HELO when MAIL FROM is null."""

    status: Status
    #: "mailfrom" or "helo"; empty when SPF was not checked.
    scope: str = ""
    #: Domain whose SPF record was evaluated; empty when none was usable.
    domain: str = ""
    explanation: str = ""


@dataclass(frozen=True)
class DkimResult:
    """Result of verifying one DKIM-Signature field."""

    status: Status
    domain: str
    selector: str
    algorithm: str
    #: Why the signature failed or could not be checked; empty on a pass.
    detail: str = ""
    #: RSA modulus or ed25519 key length in bits; 0 when no key was read.
    key_bits: int = 0
    #: The ``l=`` body length limit; None when the signature covers the whole body.
    body_length_limit: int | None = None
    #: Bytes of the canonicalised body left unsigned by an ``l=`` tag.
    unsigned_body_bytes: int = 0
    #: The public key was shorter than RFC 8301 allows.
    weak_key: bool = False


@dataclass(frozen=True)
class ArcResult:
    """Result of validating the ARC chain, per RFC 8617."""

    status: Status
    #: Number of ARC sets found; 0 when the message carries none.
    instances: int = 0
    #: The d= domain of the latest ARC-Seal; empty when there is none.
    latest_sealer: str = ""
    #: The latest sealer is one the caller trusts.
    trusted: bool = False
    detail: str = ""


@dataclass(frozen=True)
class AuthresResult:
    """A method result read from an Authentication-Results field (RFC 8601)."""

    authserv_id: str
    method: str
    status: str
    #: Property such as "header.d" or "smtp.mailfrom" mapped to its value.
    properties: tuple[tuple[str, str], ...] = ()
    #: Set when the field came from an ARC-Authentication-Results field.
    via_arc: bool = False


@dataclass(frozen=True)
class DmarcResult:
    """DMARC evaluation for the author domain, per RFC 9989."""

    status: Status
    author_domain: str = ""
    #: Domain whose _dmarc record supplied the policy; empty when none was found.
    policy_domain: str = ""
    organisational_domain: str = ""
    #: The requested policy for this author domain: none, quarantine or reject.
    policy: str = ""
    dkim_aligned: bool = False
    spf_aligned: bool = False
    #: The pass rests on results vouched for by a trusted ARC sealer or
    #: Authentication-Results field, not on local checks alone.
    attested: bool = False
    detail: str = ""


@dataclass(frozen=True)
class Author:
    """The author taken from the From field, when exactly one mailbox was found."""

    address: str
    domain: str
    display_name: str = ""


@dataclass(frozen=True)
class LinkResult:
    """One link in the message: as written, where it leads, and whose host that is."""

    #: The URL as written; for a rewritten link, the gateway's URL.
    url: str
    #: The URL a click finally reaches after undoing rewriters; equals ``url`` when
    #: nothing was rewritten or the rewriter is opaque.
    target: str
    #: "entity", "neutral", "unknown" or "invalid".
    classification: str
    #: Target host in lower-case ASCII, or the IP address.
    host: str = ""
    #: Name of the allowlist entity the target belongs to; empty when none.
    entity: str = ""
    #: "a", "area", "form", "img" or "text".
    source: str = ""
    #: Visible text of an anchor.
    text: str = ""
    #: Rewriting services undone, outermost first.
    rewriters: tuple[str, ...] = ()
    #: The innermost rewriter keeps only a token, so the real target is unknown.
    opaque: bool = False


@dataclass(frozen=True)
class Verification:
    """Everything the verifier found about one message, and its verdict."""

    verdict: Verdict
    reasons: tuple[Reason, ...]
    author: Author | None = None
    #: Name of the allowlist entity the author domain belongs to, if any.
    entity: str = ""
    #: Name of the entity the message imitates or links to, when no author entity.
    claimed_entity: str = ""
    spf: SpfResult = field(default_factory=lambda: SpfResult(Status.NOT_CHECKED))
    dkim: tuple[DkimResult, ...] = ()
    arc: ArcResult = field(default_factory=lambda: ArcResult(Status.NONE))
    dmarc: DmarcResult = field(default_factory=lambda: DmarcResult(Status.NONE))
    authres: tuple[AuthresResult, ...] = ()
    #: Links found in text and HTML parts, up to the content-analysis link limit.
    links: tuple[LinkResult, ...] = ()

    def codes(self) -> frozenset[str]:
        """Return the set of reason codes, for quick membership tests."""
        return frozenset(reason.code for reason in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping with enums written as their values."""
        plain: dict[str, Any] = _plain(asdict(self))
        return plain

    def to_json(self, indent: int | None = None) -> str:
        """Return the result as a JSON object."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
