"""Content analysis: links, lookalike domains, display names and attachments.

Authentication shows which domain sent a message. Content analysis decides whether
the message poses as an entity it does not come from, and whether authenticated
entity mail carries something risky. :func:`analyse_content` runs every check on a parsed
message and returns one :class:`ContentReport`; it performs no I/O, and its work
is bounded by the limits in :mod:`.extract`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..allowlist import Allowlist, Entity
from ..message import ParsedMessage
from ..results import Author, Reason
from .attachments import analyse_attachments
from .codes import CONTENT_CODES, content_reason
from .extract import MAX_LINKS, MAX_TEXT_CHARS, extract_content
from .identity import analyse_identity
from .links import Link, LinkClass, classify_url, analyse_links
from .lookalike import LookalikeMatch, find_lookalike
from .portal import analyse_portal, is_open_platform, open_platform_reasons

__all__ = [
    "CONTENT_CODES", "ContentReport", "Link", "LinkClass", "LookalikeMatch", "MAX_LINKS", "MAX_TEXT_CHARS",
    "analyse_content", "classify_url", "find_lookalike", "is_open_platform",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContentReport:
    """Findings of content analysis for one message."""

    #: Every finding, in the order: sender fields, links, portal, attachments, limits.
    reasons: tuple[Reason, ...]
    #: Every link found, normalised, with its unwrapped target and classification.
    links: tuple[Link, ...]
    #: The entity the message imitates: a brand or entity address in the display
    #: name, a lookalike author, Reply-To or Sender domain, links dressed as entity
    #: links, or a fake portal notification. Only set when the author is no entity.
    posing_as: Entity | None
    #: Risky content: a link whose text shows another site, user-info or IP-address
    #: link hosts, lookalike link or reply domains, or dangerous attachments.
    risky: bool
    #: The author entity is an open platform and no survey link is on a listed brand host.
    open_platform_caveat: bool


def analyse_content(message: ParsedMessage, author: Author | None, author_entity: Entity | None,
                    allowlist: Allowlist) -> ContentReport:
    """Run every content check on ``message``.

    ``author`` is the single mailbox of the From field (None when there is none),
    and ``author_entity`` the allowlist entity its domain belongs to, if any.
    """
    extracted = extract_content(message)
    identity = analyse_identity(message, author, author_entity, allowlist)
    links = analyse_links(extracted.links, allowlist)
    portal = analyse_portal(message, author, author_entity, links.links, extracted.visible_text, allowlist)
    attachments = analyse_attachments(message.parts)
    platform_reasons, caveat = open_platform_reasons(author_entity, links.links, allowlist)
    limit_reasons = tuple(content_reason("content.limits-exceeded", detail=detail)
                          for detail in extracted.limits_hit)
    reasons = _unique(identity.reasons + links.reasons + portal.reasons + attachments.reasons
                      + platform_reasons + limit_reasons)
    posing = None
    if author_entity is None:
        posing = identity.posing_as or portal.posing_as or links.posing_as
    risky = identity.risky or links.risky or portal.risky or attachments.risky
    logger.debug("content analysis: %d links, %d reasons, posing as %s, risky %s",
                 len(links.links), len(reasons), posing.name if posing else "nobody", risky)
    return ContentReport(reasons, links.links, posing, risky, caveat)


#: Reasons kept per code; a newsletter with hundreds of bad links gets a sample.
MAX_REASONS_PER_CODE = 10


def _unique(reasons: tuple[Reason, ...]) -> tuple[Reason, ...]:
    """Drop repeated reasons and keep at most ``MAX_REASONS_PER_CODE`` of each code."""
    seen: set[Reason] = set()
    counts: dict[str, int] = {}
    kept = []
    for reason in reasons:
        if reason in seen or counts.get(reason.code, 0) >= MAX_REASONS_PER_CODE:
            continue
        seen.add(reason)
        counts[reason.code] = counts.get(reason.code, 0) + 1
        kept.append(reason)
    return tuple(kept)
