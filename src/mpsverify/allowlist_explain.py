"""Explaining which allowlist entity a domain, email address or link belongs to.

The explanation lists the rule that matched and where it was listed (file and line),
so an operator can see why mpsverify trusts a sender or a link, and which file to
edit to change that. A host that belongs to no entity is passed to the lookalike
check of content analysis when that is installed.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from .allowlist import Allowlist, Entity
from .psl import normalise_domain

logger = logging.getLogger(__name__)

#: A function that returns a lookalike match for a domain, or None.
LookalikeFinder = Callable[[str, Allowlist], object]

_VERDICT_BY_KIND: Final = {"organisation": "authentic", "partner": "partner", "portal": "partner"}


class TargetError(ValueError):
    """The domain, address or URL to explain contains no usable host."""


@dataclass(frozen=True)
class Target:
    """The host to explain, taken from what the user typed."""

    text: str
    #: "domain", "address" or "link".
    kind: str
    #: Lower-case host with A-labels, as the allowlist stores it.
    host: str
    #: User-info before "@" in a link, which hides the real host from a quick reader.
    userinfo: str = ""


@dataclass(frozen=True)
class LookalikeFinding:
    """A domain of an entity that the explained host imitates."""

    imitated_domain: str
    entity_name: str
    #: The imitation technique in plain English, such as "a letter left out", or empty.
    technique: str


@dataclass(frozen=True)
class Explanation:
    """The entity a host belongs to and the reason, in sentences and as data."""

    target: Target
    entity: Entity | None
    #: The entity field that matched ("domains", "link_hosts" or "brand_hosts"), or empty.
    field: str
    #: The listed domain or host pattern that matched, or empty.
    matched: str
    #: The neutral link host pattern that matched, or empty.
    neutral_pattern: str
    lookalike: LookalikeFinding | None
    lines: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the explanation as JSON-ready data."""
        listing = self.entity.listing(self.field, self.matched) if self.entity else None
        return {
            "target": self.target.text,
            "kind": self.target.kind,
            "host": self.target.host,
            "entity": self.entity.name if self.entity else None,
            "entity_kind": self.entity.kind if self.entity else None,
            "field": self.field or None,
            "matched": self.matched or None,
            "listed_in": listing.origin if listing else None,
            "line": listing.line if listing else None,
            "neutral_link_host": self.neutral_pattern or None,
            "lookalike": None if self.lookalike is None else {
                "imitated_domain": self.lookalike.imitated_domain,
                "entity": self.lookalike.entity_name,
                "technique": self.lookalike.technique,
            },
            "explanation": list(self.lines),
        }


def parse_target(text: str) -> Target:
    """Return the host of a domain, email address or URL; raise TargetError when it has none."""
    given = text.strip()
    if not given:
        raise TargetError("the argument is empty; give a domain, an email address or a URL")
    if "://" in given or given.startswith("//"):
        return _link_target(given, given)
    if "/" in given:
        # A link written without its scheme, such as "survey.example.com/x".
        return _link_target(given, "//" + given)
    if "@" in given:
        return Target(given, "address", _host_of(given.rsplit("@", 1)[1], given))
    return Target(given, "domain", _host_of(given, given))


def _link_target(given: str, url: str) -> Target:
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as error:
        raise TargetError(f"{given!r} is not a valid URL: {error}") from None
    if not hostname:
        raise TargetError(f"{given!r} has no host")
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    return Target(given, "link", _host_of(hostname, given), userinfo)


def _host_of(name: str, given: str) -> str:
    host = normalise_domain(name)
    if not host or any(character.isspace() for character in host):
        raise TargetError(f"{given!r} contains no valid host name")
    return host


def explain_target(text: str, allowlist: Allowlist, finder: LookalikeFinder | None = None) -> Explanation:
    """Explain which entity of ``allowlist`` the domain, address or link ``text`` belongs to.

    ``finder`` is the lookalike check tried on a host that belongs to no entity; by
    default it is ``mpsverify.content.find_lookalike``, skipped when that is not
    installed. Raises TargetError when ``text`` contains no host.
    """
    target = parse_target(text)
    lines = _target_lines(target)
    entity = allowlist.entity_for_domain(target.host)
    if entity is not None:
        matched = entity.matching_domain(target.host) or ""
        return Explanation(target, entity, "domains", matched, "", None,
                           (*lines, *_domain_lines(target, entity, matched)))
    entity = allowlist.entity_for_link_host(target.host)
    if entity is not None:
        field, pattern = entity.matching_link_host(target.host) or ("", "")
        return Explanation(target, entity, field, pattern, "", None,
                           (*lines, *_link_host_lines(target, entity, field, pattern, allowlist)))
    neutral = allowlist.matching_neutral_host(target.host)
    if neutral is not None:
        origin = dict(allowlist.neutral_origins).get(neutral, "")
        sentence = (f"{target.host} is a neutral link host (matches {neutral!r} under neutral_link_hosts"
                    f"{' in ' + origin if origin else ''}): links to it are fine, but it belongs to no entity.")
        return Explanation(target, None, "", "", neutral, None, (*lines, sentence))
    lookalike = _find_lookalike(target.host, allowlist, finder)
    return Explanation(target, None, "", "", "", lookalike, (*lines, *_no_entity_lines(target, lookalike)))


def _target_lines(target: Target) -> list[str]:
    shown = _with_unicode(target.host)
    if target.kind == "link":
        lines = [f"The link's host is {shown}."]
        if target.userinfo:
            lines.append(f"The text before '@' ({target.userinfo!r}) is user-info, not the host: "
                         "a link written this way often tries to look as if it goes elsewhere.")
        return lines
    if target.kind == "address":
        return [f"The address's domain is {shown}."]
    return [] if shown == target.host == target.text else [f"The domain is {shown}."]


def _with_unicode(host: str) -> str:
    if "xn--" not in host:
        return host
    try:
        return f"{host} ({host.encode('ascii').decode('idna')})"
    except UnicodeError:
        return host


def _where_listed(entity: Entity, field: str, value: str) -> str:
    listing = entity.listing(field, value)
    if listing is None:
        return ""
    return f" in {listing.origin} line {listing.line}" if listing.line else f" in {listing.origin}"


def _domain_lines(target: Target, entity: Entity, matched: str) -> list[str]:
    relation = "is" if target.host == matched else f"lies beneath {matched}, which is"
    lines = [
        f"{target.host} belongs to {entity.name} ({entity.kind}): it {relation} listed under domains"
        f"{_where_listed(entity, 'domains', matched)}.",
        f"Mail from this domain that passes DMARC gets the verdict {_VERDICT_BY_KIND[entity.kind]}.",
    ]
    if entity.open_platform:
        lines.append(f"{entity.name} is an open platform: anyone can send through it, so such mail proves "
                     f"only that it went through {entity.name}, not that MPS wrote it. It gets full credit "
                     "only when its links go to a host listed under brand_hosts.")
    lines.append(_confidence_line(entity))
    return lines


def _link_host_lines(target: Target, entity: Entity, field: str, pattern: str,
                     allowlist: Allowlist) -> list[str]:
    listed = f"matches {pattern!r} under {field}{_where_listed(entity, field, pattern)}"
    if field == "brand_hosts":
        owner = allowlist.organisation or "the organisation"
        lines = [f"{target.host} is a brand host of {owner} on {entity.name} ({listed}).",
                 f"Links to it from {entity.name} mail give that mail full credit."]
    else:
        lines = [f"{target.host} is a link host of {entity.name} ({entity.kind}): it {listed}.",
                 f"Links to it count as links to {entity.name}. It is not an author domain, "
                 f"so mail from {target.host} is not counted as {entity.name}'s mail."]
        if entity.open_platform:
            lines.append(f"{entity.name} is an open platform, so this host may serve any of its customers. "
                         "If it is MPS's own host, list it under brand_hosts to give its surveys full credit.")
    lines.append(_confidence_line(entity))
    return lines


def _confidence_line(entity: Entity) -> str:
    sentence = f"Confidence: {entity.confidence or 'not stated'}"
    if entity.source:
        sentence += f"; source: {entity.source}"
    return sentence + "."


def _no_entity_lines(target: Target, lookalike: LookalikeFinding | None) -> list[str]:
    lines = [f"{target.host} belongs to no entity in the allowlist."]
    if lookalike is not None:
        owner = f" ({lookalike.entity_name})" if lookalike.entity_name else ""
        how = f": {lookalike.technique}" if lookalike.technique else ""
        lines.append(f"It imitates {lookalike.imitated_domain}{owner}{how}. "
                     "Mail from it that poses as MPS or a partner gets the verdict impersonation.")
    return lines


def _find_lookalike(host: str, allowlist: Allowlist, finder: LookalikeFinder | None) -> LookalikeFinding | None:
    if _is_ip_address(host):
        return None
    chosen = finder or _content_lookalike_finder()
    if chosen is None:
        return None
    match = chosen(host, allowlist)
    return None if match is None else _lookalike_finding(match)


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _content_lookalike_finder() -> LookalikeFinder | None:
    try:
        from .content import find_lookalike
    except ImportError:
        logger.debug("lookalike check skipped because content analysis is not installed")
        return None
    return find_lookalike


def _lookalike_finding(match: object) -> LookalikeFinding:
    """Convert a match with the attributes of ``mpsverify.content.LookalikeMatch``."""
    entity = getattr(match, "entity", None)
    return LookalikeFinding(
        imitated_domain=str(getattr(match, "imitated", "")),
        entity_name=entity.name if isinstance(entity, Entity) else "",
        technique=str(getattr(match, "description", "") or getattr(match, "kind", "")),
    )
