"""Secure-portal notifications and open platforms.

When a recipient's server does not accept TLS, MPS sends a notification with a
link to its secure messaging portal (OneWorld, thought to be an Echoworx product).
Phishing copies those notifications, so a notification that mentions the
organisation but links elsewhere than the portal entity's hosts is impersonation.

Open platforms such as Qualtrics let anyone send mail through them, so a message
authenticated as qemailserver.com proves only that Qualtrics sent it. Full credit
is given only when its survey links go to a host the allowlist lists as the
organisation's own (its brand host on the platform).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..allowlist import Allowlist, Entity, host_matches
from ..message import ParsedMessage
from ..results import Author, Reason
from .codes import content_reason, shown
from .identity import brand_in_text
from .links import CLICKABLE_SOURCES, Link, LinkClass

logger = logging.getLogger(__name__)

#: Domains of platforms anyone can send mail through; an entity owning one of them
#: is treated as an open platform even when the allowlist does not say so.
KNOWN_OPEN_PLATFORM_DOMAINS = frozenset({"qemailserver.com", "qualtrics.com"})

# Wording of portal notifications. NOTE: taken from public Echoworx samples and
# common practice; no real MPS notification has been seen.
_NOTIFICATION_WORDING = re.compile(
    r"(?i)\b(?:secure|encrypted)[ -](?:message|messaging|e-?mail|mail|delivery)\b"
    r"|\bmessage (?:has been|was) encrypted\b")
_ECHOWORX_PREFIX = "x-echoworx-"
_SUBJECT_CHARS = 1000


@dataclass(frozen=True)
class PortalAnalysis:
    """Findings about a secure-portal notification."""

    reasons: tuple[Reason, ...]
    #: The portal (or organisation) a fake notification imitates.
    posing_as: Entity | None
    risky: bool


def analyse_portal(message: ParsedMessage, author: Author | None, author_entity: Entity | None,
                   links: tuple[Link, ...], visible_text: str, allowlist: Allowlist) -> PortalAnalysis:
    """Recognise a portal notification and check that its links go to the portal."""
    if not is_portal_notification(message, author, visible_text, allowlist):
        return PortalAnalysis((), None, False)
    portal = next((entity for entity in allowlist.entities if entity.kind == "portal"), None)
    claimed = portal or allowlist.organisation_entity()
    if claimed is None:
        return PortalAnalysis((), None, False)
    stray = [link for link in _action_links(links) if not _goes_to_portal(link, portal)]
    if not stray:
        if portal is not None and any(link.entity == portal for link in links):
            return PortalAnalysis((content_reason("portal.notification", entity=portal.name),), None, False)
        return PortalAnalysis((), None, False)
    host = shown(stray[0].host)
    if author_entity is None:
        reason = content_reason("portal.fake-notification", host=host, entity=claimed.name)
        return PortalAnalysis((reason,), claimed, True)
    reason = content_reason("portal.unexpected-link", host=host, entity=claimed.name)
    return PortalAnalysis((reason,), None, True)


def is_portal_notification(message: ParsedMessage, author: Author | None, visible_text: str,
                           allowlist: Allowlist) -> bool:
    """Return True for a secure-message notification that names the organisation.

    Echoworx relay headers or notification wording mark a notification; a brand
    name of an entity in the subject, sender name or text ties it to MPS, because
    many other organisations send such notifications too.
    """
    subject = (message.get_first("Subject") or "")[:_SUBJECT_CHARS]
    display_name = author.display_name if author else ""
    relayed = any(header.key.startswith(_ECHOWORX_PREFIX) for header in message.headers)
    worded = any(_NOTIFICATION_WORDING.search(text) for text in (subject, display_name, visible_text))
    if not (relayed or worded):
        return False
    return any(_mentions_brand(text, allowlist) for text in (subject, display_name, visible_text))


def _mentions_brand(text: str, allowlist: Allowlist) -> bool:
    return bool(text.strip()) and brand_in_text(text, allowlist) is not None


def _action_links(links: Iterable[Link]) -> list[Link]:
    return [link for link in links
            if link.source in CLICKABLE_SOURCES and link.classification is not LinkClass.NEUTRAL
            and not link.url.lower().startswith("mailto:")]


def _goes_to_portal(link: Link, portal: Entity | None) -> bool:
    if portal is None:
        return link.classification is LinkClass.ENTITY
    return link.entity == portal or (link.entity is not None and link.entity.kind == "organisation")


# -- open platforms -------------------------------------------------------------------


def is_open_platform(entity: Entity) -> bool:
    """Return True for an entity anyone can send mail through, such as Qualtrics."""
    return entity.open_platform or any(domain in KNOWN_OPEN_PLATFORM_DOMAINS for domain in entity.domains)


def open_platform_reasons(author_entity: Entity | None, links: tuple[Link, ...],
                          allowlist: Allowlist) -> tuple[tuple[Reason, ...], bool]:
    """Return the open-platform reasons and whether the caveat applies.

    The caveat applies to mail from an open platform unless every survey link on
    the platform goes to a brand host the allowlist lists for the organisation.
    """
    if author_entity is None or not is_open_platform(author_entity):
        return (), False
    organisation = allowlist.organisation or "MPS"
    survey_links = [link for link in links if link.entity == author_entity and link.source in CLICKABLE_SOURCES]
    brand_links = [link for link in survey_links if is_brand_host(link.host, allowlist)]
    if survey_links and len(brand_links) == len(survey_links):
        reason = content_reason("partner.brand-host", host=shown(brand_links[0].host), organisation=organisation)
        return (reason,), False
    if survey_links:
        detail = (f"its survey link goes to {shown(survey_links[0].host)}, which the allowlist does not list "
                  f"as a host of {organisation}")
    else:
        detail = "it has no survey link on a host the allowlist lists for it"
    reason = content_reason("partner.open-platform", platform=author_entity.name, organisation=organisation,
                            detail=detail)
    return (reason,), True


def is_brand_host(host: str, allowlist: Allowlist) -> bool:
    """Return True when ``host`` is a brand host, or an exact organisation link host, in the allowlist."""
    for entity in allowlist.entities:
        patterns = list(entity.brand_hosts)
        if entity.kind == "organisation":
            patterns += [pattern for pattern in entity.link_hosts if not pattern.startswith("*.")]
        if any(host_matches(host, pattern) for pattern in patterns):
            return True
    return False
