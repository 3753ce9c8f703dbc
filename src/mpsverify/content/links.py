"""Classify links against the allowlist and find the risky ones.

Each link is unwrapped from mail-gateway rewriting, normalised as a browser would
read it, and classified by its target host: a host of an allowlist entity, a
neutral host anyone may link to (social networks), or unknown. The findings are a
visible text that names another site than the target, user-info before the host,
IP-address hosts, lookalike domains and URL shorteners.
"""

from __future__ import annotations

import enum
import functools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

import publicsuffixlist

from ..allowlist import Allowlist, Entity
from ..results import Reason
from .codes import content_reason, shown
from .extract import RawLink
from .hostindex import entity_for_host, is_neutral_host
from .lookalike import LookalikeMatch, find_lookalike
from .rewriters import unwrap
from .shorteners import is_shortener
from .urls import ParsedUrl, parse_url

logger = logging.getLogger(__name__)

#: Sources a person clicks; image sources load by themselves and are not judged as clicks.
CLICKABLE_SOURCES = frozenset({"a", "area", "form", "text"})
#: Words of an anchor's text examined for a URL or host name.
MAX_TEXT_TOKENS = 20
#: Top-level domains that are also common file extensions: "notes.md" in a link's
#: text is more likely a file name than a host, unless written as a URL.
_FILE_LIKE_TLDS = frozenset({"md", "py", "sh", "pl", "rs", "ps", "cs", "zip", "mov", "doc", "pdf", "txt"})
_TOKEN_EDGE = "\"'()[]{}<>.,;:!?*"
_DOTTED_QUAD = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


class LinkClass(enum.Enum):
    """Classification of a link's target host against the allowlist."""

    #: A domain or listed link host of an entity.
    ENTITY = "entity"
    #: A host the allowlist lists as fine for anyone to link to.
    NEUTRAL = "neutral"
    #: Any other host, including IP addresses.
    UNKNOWN = "unknown"
    #: The URL names no host a browser would reach, such as a relative URL.
    INVALID = "invalid"


@dataclass(frozen=True)
class Link:
    """One link, its unwrapped target and what was found about it."""

    #: The URL as written in the message; for a rewritten link, the gateway's URL.
    url: str
    #: The URL a click finally reaches, after undoing rewriting; equals ``url`` when
    #: nothing was rewritten or the rewriter is opaque.
    target: str
    classification: LinkClass
    #: "a", "area", "form", "img" or "text" (a URL written in the text).
    source: str = ""
    #: Visible text of an anchor.
    text: str = ""
    #: Target host in lower-case ASCII, or the IP address; empty when there is none.
    host: str = ""
    host_unicode: str = ""
    registrable: str = ""
    #: The entity the target belongs to, when classification is ENTITY.
    entity: Entity | None = None
    #: Rewriting services undone, outermost first.
    rewriters: tuple[str, ...] = ()
    #: The innermost rewriter keeps only a token, so the real target is unknown.
    opaque: bool = False
    userinfo: str = ""
    #: 4 or 6 when the target host is an IP address.
    ip_version: int = 0
    #: The target host as written, such as "3325256711" for 198.51.100.7.
    host_as_written: str = ""
    port: int | None = None
    shortener: bool = False
    lookalike: LookalikeMatch | None = None
    #: The URL or host the visible text shows, when it names one.
    shown_host: str = ""
    #: The visible text names a site other than the target.
    text_mismatch: bool = False
    #: The entity whose host the visible text shows, when the target is elsewhere.
    dressed_as: Entity | None = None


def classify_url(url: str, allowlist: Allowlist, text: str = "", source: str = "a") -> Link:
    """Unwrap, normalise and classify one URL, comparing it with its visible ``text``."""
    unwrapped = unwrap(url)
    target = unwrapped.parsed_target
    if target is None:
        return Link(url=url, target=unwrapped.target, classification=LinkClass.INVALID, source=source,
                    text=text, rewriters=unwrapped.services, opaque=unwrapped.opaque)
    entity = entity_for_host(target.host, allowlist)
    classification = _classify(target, entity, allowlist)
    lookalike = None
    if classification is LinkClass.UNKNOWN and not target.is_ip_literal and not unwrapped.opaque:
        lookalike = find_lookalike(target.host, allowlist)
    mismatch = None if unwrapped.opaque else _mismatched_text(text, target, allowlist)
    dressed_as = None
    if mismatch is not None:
        text_entity = entity_for_host(mismatch.host, allowlist)
        dressed_as = text_entity if text_entity is not None and text_entity != entity else None
    return Link(
        url=url, target=unwrapped.target, classification=classification, source=source, text=text,
        host=target.host, host_unicode=target.host_unicode, registrable=target.registrable, entity=entity,
        rewriters=unwrapped.services, opaque=unwrapped.opaque, userinfo=target.userinfo,
        ip_version=target.ip_version, host_as_written=target.host_as_written, port=target.port,
        shortener=is_shortener(target.host, target.registrable), lookalike=lookalike,
        shown_host=mismatch.host if mismatch else "", text_mismatch=mismatch is not None, dressed_as=dressed_as,
    )


def _classify(target: ParsedUrl, entity: Entity | None, allowlist: Allowlist) -> LinkClass:
    if not target.host:
        return LinkClass.INVALID
    if entity is not None:
        return LinkClass.ENTITY
    if not target.is_ip_literal and (is_neutral_host(target.host, allowlist)
                                     or is_neutral_host(target.registrable, allowlist)):
        return LinkClass.NEUTRAL
    return LinkClass.UNKNOWN


# -- visible text versus target ---------------------------------------------------


def shown_hosts(text: str) -> list[ParsedUrl]:
    """Return the URLs and host names that ``text`` shows, in order.

    A word counts when it is written as a URL, starts with "www.", is an email
    address, or is a name under a public suffix; "notes.md" and "2.0" do not count.
    """
    found = []
    for word in text.split()[:MAX_TEXT_TOKENS]:
        parsed = _word_as_url(word.strip(_TOKEN_EDGE))
        if parsed is not None:
            found.append(parsed)
    return found


def _word_as_url(word: str) -> ParsedUrl | None:
    if "." not in word:
        return None
    if "://" in word:
        parsed = parse_url(word)
        return parsed if parsed is not None and parsed.host else None
    if "@" in word and "/" not in word:
        parsed = parse_url("mailto:" + word)
    else:
        parsed = parse_url("http://" + word)
    if parsed is None or not parsed.host or not parsed.host_valid:
        return None
    if parsed.is_ip_literal:
        return parsed if _DOTTED_QUAD.match(parsed.host_as_written) else None
    if word.lower().startswith("www.") or parsed.scheme == "mailto":
        return parsed
    return parsed if _looks_like_host(parsed) else None


def _looks_like_host(parsed: ParsedUrl) -> bool:
    suffix = _public_suffix(parsed.host)
    if suffix is None:
        return False
    labels = parsed.host.split(".")
    return not (len(labels) == 2 and labels[-1] in _FILE_LIKE_TLDS and not parsed.rest.strip("/"))


def _public_suffix(host: str) -> str | None:
    """Return the public suffix of ``host`` when the list contains it or it is reserved for tests."""
    last = host.rsplit(".", 1)[-1]
    if last in ("example", "test", "invalid", "localhost"):
        return last
    suffix: str | None = _suffix_list().publicsuffix(host, accept_unknown=False)
    return suffix


@functools.cache
def _suffix_list() -> publicsuffixlist.PublicSuffixList:
    return publicsuffixlist.PublicSuffixList()


def _mismatched_text(text: str, target: ParsedUrl, allowlist: Allowlist) -> ParsedUrl | None:
    """Return the host the text shows when it names another site than ``target``, else None.

    No mismatch is reported when any host in the text is the target's site, or when
    the text's host and the target both belong to the same entity (such as its
    listed click-tracking host).
    """
    hosts = shown_hosts(text) if text else []
    if not hosts:
        return None
    for host in hosts:
        if _same_site(host, target) or _same_entity(host, target, allowlist):
            return None
    return hosts[0]


def _same_site(first: ParsedUrl, second: ParsedUrl) -> bool:
    if first.is_ip_literal or second.is_ip_literal:
        return first.host == second.host
    return bool(first.registrable) and first.registrable == second.registrable


def _same_entity(first: ParsedUrl, second: ParsedUrl, allowlist: Allowlist) -> bool:
    entity = entity_for_host(first.host, allowlist)
    return entity is not None and entity == entity_for_host(second.host, allowlist)


# -- findings ------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkAnalysis:
    """Every link in a message and the findings about them."""

    links: tuple[Link, ...]
    reasons: tuple[Reason, ...]
    #: A link finding that makes authenticated entity mail suspicious.
    risky: bool
    #: The entity the links imitate: text dressed as its host, or a lookalike of its domain.
    posing_as: Entity | None


def analyse_links(raw_links: Iterable[RawLink], allowlist: Allowlist) -> LinkAnalysis:
    """Classify every link and collect the reasons, risk and imitated entity."""
    links = tuple(_classify_all(raw_links, allowlist))
    reasons: list[Reason] = []
    risky = False
    posing: Entity | None = None
    for link in links:
        found, link_risky = _link_reasons(link)
        reasons.extend(found)
        risky = risky or link_risky
        if posing is None:
            posing = link.dressed_as or (link.lookalike.entity if link.lookalike else None)
    reasons.extend(_rewriter_reasons(links))
    return LinkAnalysis(links, tuple(reasons), risky, posing)


def _classify_all(raw_links: Iterable[RawLink], allowlist: Allowlist) -> list[Link]:
    cache: dict[tuple[str, str, str], Link] = {}
    links = []
    for raw in raw_links:
        key = (raw.url, raw.text, raw.source)
        link = cache.get(key)
        if link is None:
            link = classify_url(raw.url, allowlist, raw.text, raw.source)
            cache[key] = link
        if link.classification is not LinkClass.INVALID:
            links.append(link)
    return links


def _link_reasons(link: Link) -> tuple[list[Reason], bool]:
    reasons = []
    clickable = link.source in CLICKABLE_SOURCES
    host = shown(link.host)
    if link.text_mismatch:
        reasons.append(content_reason("link.text-mismatch", shown=shown(link.shown_host), host=host))
    if link.userinfo and clickable:
        reasons.append(content_reason("link.userinfo", userinfo=shown(link.userinfo), host=host))
    if link.ip_version and clickable:
        written = link.host_as_written.strip("[]")
        how_written = "" if written.lower() == link.host else f", written as {shown(written)} to disguise it"
        reasons.append(content_reason("link.ip-literal", address=host, how_written=how_written))
    if link.lookalike is not None:
        match = link.lookalike
        reasons.append(content_reason("link.lookalike-domain", domain=shown(match.shown_domain),
                                      imitated=match.imitated, entity=match.entity.name, trick=match.description))
    if link.shortener and clickable:
        reasons.append(content_reason("link.shortener", host=host))
    risky = clickable and (link.text_mismatch or bool(link.userinfo) or bool(link.ip_version)
                           or link.lookalike is not None)
    return reasons, risky


def _rewriter_reasons(links: tuple[Link, ...]) -> list[Reason]:
    reasons = []
    seen: set[str] = set()
    for link in links:
        for service in link.rewriters:
            opaque = link.opaque and service == link.rewriters[-1]
            key = ("opaque:" if opaque else "") + service
            if key in seen:
                continue
            seen.add(key)
            if opaque:
                wrapper = parse_url(link.url)
                reasons.append(content_reason("link.opaque-rewriter", service=service,
                                              host=shown(wrapper.host if wrapper else link.url)))
            else:
                reasons.append(content_reason("link.rewritten", service=service))
    return reasons
