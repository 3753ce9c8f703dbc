"""Check the sender fields for imitation of an entity.

Three tricks are caught here: a display name that uses a brand name or contains an
entity address ("Medical Protection" <x@gmail.com>), an author domain that imitates
an entity domain, and a Reply-To or Sender address at such a domain. Display names
are compared after case folding, collapsing of spacing and punctuation, and
mapping of confusable characters, so "M P S" and "Меdical Рrotection" with
Cyrillic letters both match.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

from ..allowlist import Allowlist, Entity
from ..message import ParsedMessage
from ..psl import registrable_domain
from ..results import Author, Reason
from .cache import per_allowlist
from .codes import content_reason, shown
from .links import shown_hosts
from .lookalike import LookalikeMatch, find_lookalike
from .skeleton import skeleton

logger = logging.getLogger(__name__)

#: Brand names at least this long (without spaces) match inside longer words too;
#: shorter ones, such as "MPS", must stand as a word of their own.
MIN_SUBSTRING_BRAND = 6
#: Characters of a display name or of a Reply-To or Sender field examined.
MAX_FIELD_CHARS = 16_384
#: Addresses read from one Reply-To or Sender field.
MAX_FIELD_ADDRESSES = 20

_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_ADDRESS_DELIMITERS = frozenset(" \t\r\n<>\"'(),;:@[]")
#: Maximum lengths of the local part and domain read around an "@" (RFC 5321 section 4.5.3.1).
_MAX_LOCAL_PART = 64
_MAX_DOMAIN = 255


@dataclass(frozen=True)
class IdentityAnalysis:
    """Findings about the From, Reply-To and Sender fields."""

    reasons: tuple[Reason, ...]
    #: The entity the sender fields imitate, if any.
    posing_as: Entity | None
    #: A Reply-To or Sender lookalike, which redirects replies from entity mail too.
    risky: bool


@dataclass(frozen=True)
class _Brand:
    name: str
    entity: Entity
    compact: str


def analyse_identity(message: ParsedMessage, author: Author | None, author_entity: Entity | None,
                     allowlist: Allowlist) -> IdentityAnalysis:
    """Check the display name and author domain (when no entity is the author), Reply-To and Sender."""
    reasons: list[Reason] = []
    posing: list[Entity] = []
    if author is not None and author_entity is None:
        _check_author(author, allowlist, reasons, posing)
    risky = False
    for field_name, code in (("Reply-To", "reply-to.lookalike-domain"), ("Sender", "sender.lookalike-domain")):
        for match in _field_lookalikes(message, field_name, allowlist):
            reasons.append(_lookalike_reason(code, match))
            posing.append(match.entity)
            risky = True
    return IdentityAnalysis(tuple(reasons), posing[0] if posing else None, risky)


def _check_author(author: Author, allowlist: Allowlist, reasons: list[Reason], posing: list[Entity]) -> None:
    match = find_lookalike(author.domain, allowlist)
    if match is not None:
        reasons.append(_lookalike_reason("from.lookalike-domain", match))
        posing.append(match.entity)
    name = author.display_name[:MAX_FIELD_CHARS]
    if not name.strip():
        return
    for address, entity in display_name_addresses(name, author.domain, allowlist):
        reasons.append(content_reason("from.display-name-address", display_name=shown(name), address=shown(address),
                                      domain=shown(author.domain)))
        posing.append(entity)
        break
    # Addresses are left out of the brand check, so "x@medicalprotection.org" counts once.
    found = display_name_brand(_without_addresses(name), allowlist)
    if found is not None:
        brand, entity = found
        reasons.append(content_reason("from.display-name-brand", display_name=shown(name), brand=shown(brand),
                                      entity=entity.name, domain=shown(author.domain)))
        posing.append(entity)


def _lookalike_reason(code: str, match: LookalikeMatch) -> Reason:
    return content_reason(code, domain=shown(match.shown_domain), imitated=match.imitated,
                          entity=match.entity.name, trick=match.description)


# -- display names ---------------------------------------------------------------


def display_name_brand(display_name: str, allowlist: Allowlist) -> tuple[str, Entity] | None:
    """Return the brand name or entity domain a display name uses, with its entity, or None."""
    found = brand_in_text(display_name, allowlist)
    if found is not None:
        return found
    for parsed in shown_hosts(unicodedata.normalize("NFKC", display_name)):
        entity = allowlist.entity_for_domain(parsed.host)
        if entity is not None and parsed.scheme != "mailto":
            return parsed.host, entity
    return None


def brand_in_text(text: str, allowlist: Allowlist) -> tuple[str, Entity] | None:
    """Return the first brand name ``text`` uses, with its entity, or None; linear in the text's length."""
    words = _words(text)
    compact = "".join(words)
    collapsed = _collapse_single_letters(words)
    for brand in _brands(allowlist):
        if len(brand.compact) >= MIN_SUBSTRING_BRAND:
            if brand.compact in compact:
                return brand.name, brand.entity
        elif brand.compact in words or brand.compact in collapsed:
            return brand.name, brand.entity
    return None


def display_name_addresses(display_name: str, author_domain: str,
                           allowlist: Allowlist) -> list[tuple[str, Entity]]:
    """Return addresses in a display name at an entity domain, or a lookalike of one, other than the author's."""
    found = []
    author_site = registrable_domain(author_domain)
    normalised = unicodedata.normalize("NFKC", display_name)
    for address, domain in find_addresses(normalised):
        domain = domain.strip(".").lower()
        if not domain or registrable_domain(domain) == author_site:
            continue
        entity = allowlist.entity_for_domain(domain)
        if entity is None:
            lookalike = find_lookalike(domain, allowlist)
            entity = lookalike.entity if lookalike else None
        if entity is not None:
            found.append((address, entity))
    return found


def find_addresses(text: str, limit: int = MAX_FIELD_ADDRESSES) -> list[tuple[str, str]]:
    """Return up to ``limit`` (address, domain) pairs written in ``text``.

    Each "@" is expanded to the nearest delimiters on both sides, within the
    lengths RFC 5321 allows, so the scan is linear in the text's length.
    """
    found = [(text[start:end], text[at + 1:end]) for start, at, end in _address_spans(text, limit)]
    return [(address, domain) for address, domain in found if domain]


def _address_spans(text: str, limit: int) -> list[tuple[int, int, int]]:
    spans: list[tuple[int, int, int]] = []
    at = text.find("@")
    while at >= 0 and len(spans) < limit:
        start = at
        while start > 0 and at - start < _MAX_LOCAL_PART and text[start - 1] not in _ADDRESS_DELIMITERS:
            start -= 1
        end = at + 1
        while end < len(text) and end - at <= _MAX_DOMAIN and text[end] not in _ADDRESS_DELIMITERS:
            end += 1
        if start < at:
            spans.append((start, at, end))
        at = text.find("@", at + 1)
    return spans


def _without_addresses(text: str) -> str:
    """Return ``text`` with every written address replaced by a space."""
    pieces = []
    position = 0
    for start, _, end in _address_spans(text, MAX_FIELD_ADDRESSES):
        pieces.append(text[position:start])
        position = end
    pieces.append(text[position:])
    return " ".join(pieces)


def _words(text: str) -> list[str]:
    return [word for word in _WORD_SPLIT.split(skeleton(text)) if word]


def _collapse_single_letters(words: list[str]) -> list[str]:
    """Join runs of one-letter words, so "M P S" and "M.P.S." read as "mps"."""
    collapsed: list[str] = []
    run = ""
    for word in words:
        if len(word) == 1:
            run += word
            continue
        if run:
            collapsed.append(run)
            run = ""
    if run:
        collapsed.append(run)
    return collapsed


@per_allowlist
def _brands(allowlist: Allowlist) -> tuple[_Brand, ...]:
    """Return the brand names to look for, built once per allowlist object."""
    brands = []
    organisation = allowlist.organisation_entity()
    names = [(name, entity) for entity in allowlist.entities for name in entity.brand_names]
    if organisation is not None and allowlist.organisation:
        names.append((allowlist.organisation, organisation))
    for name, entity in names:
        compact = "".join(_words(name))
        if compact:
            brands.append(_Brand(name, entity, compact))
    return tuple(brands)


# -- Reply-To and Sender -----------------------------------------------------------


def _field_lookalikes(message: ParsedMessage, field_name: str, allowlist: Allowlist) -> list[LookalikeMatch]:
    matches: list[LookalikeMatch] = []
    seen: set[str] = set()
    for header in message.get_all(field_name):
        for _, domain in find_addresses(header.value[:MAX_FIELD_CHARS]):
            domain = domain.strip(".").lower()
            if domain in seen or len(seen) >= MAX_FIELD_ADDRESSES:
                continue
            seen.add(domain)
            match = find_lookalike(domain, allowlist)
            if match is not None:
                matches.append(match)
    return matches
