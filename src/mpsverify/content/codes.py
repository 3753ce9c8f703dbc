"""Reason codes produced by content analysis, merged into :mod:`mpsverify.reasons`.

Each entry maps a stable code to its severity and a message template. Messages are
read by helpdesk staff, so they state what was found and why it matters without
protocol terms. Tests check each one word for word.
"""

from __future__ import annotations

from typing import Final

from ..results import Reason, Severity

G, I, W, D = Severity.GOOD, Severity.INFO, Severity.WARNING, Severity.DANGER

CONTENT_CODES: Final[dict[str, tuple[Severity, str]]] = {
    # Sender identity fields
    "from.display-name-brand": (D, 'The sender name "{display_name}" uses the name "{brand}", which belongs '
                                   "to {entity}, but the message comes from {domain}, which does not."),
    "from.display-name-address": (D, 'The sender name "{display_name}" contains the address {address}, but the '
                                     "message comes from {domain}; many mail programs show only the name."),
    "from.lookalike-domain": (D, "The author domain {domain} imitates {imitated}, a domain of {entity}: "
                                 "{trick}."),
    "reply-to.lookalike-domain": (D, "Replies would go to {domain}, which imitates {imitated}, a domain of "
                                     "{entity}: {trick}."),
    "sender.lookalike-domain": (D, "The Sender field names {domain}, which imitates {imitated}, a domain of "
                                   "{entity}: {trick}."),
    # Links
    "link.text-mismatch": (D, "A link shows {shown} but leads to {host}, a different site."),
    "link.userinfo": (D, 'A link starts with "{userinfo}" followed by an "@" sign, so it looks like {userinfo} '
                         "but leads to {host}."),
    "link.ip-literal": (D, "A link leads to the bare internet address {address} instead of a named "
                           "website{how_written}."),
    "link.lookalike-domain": (D, "A link leads to {domain}, which imitates {imitated}, a domain of {entity}: "
                                 "{trick}."),
    "link.shortener": (W, "A link uses the URL shortener {host}, which hides where it finally leads."),
    "link.rewritten": (I, "Links were rewritten by {service}; each was judged by its real destination."),
    "link.opaque-rewriter": (I, "Links were rewritten by {service} ({host}), so their real destinations "
                                "cannot be read from the message."),
    "content.limits-exceeded": (W, "Content analysis stopped early because {detail}; links after that "
                                   "point were not checked."),
    # Attachments
    "attachment.executable": (D, "The attachment {name} is a program ({detail}); opening it could run code "
                                 "on the computer."),
    "attachment.double-extension": (D, "The attachment name {name} hides its real type .{real} behind a "
                                       "second ending .{shown}."),
    "attachment.name-trick": (D, "The attachment name {name} contains invisible characters that reverse the "
                                 "text, so it is displayed differently from its real name."),
    "attachment.macro": (D, "The attachment {name} is an Office file that can contain macros ({detail}), "
                            "which can run code when the file is opened."),
    "attachment.html": (D, "The attachment {name} is a web page ({detail}); such attachments often open "
                           "fake sign-in pages."),
    "attachment.archive": (W, "The attachment {name} is an archive ({detail}), which can hide other files "
                              "from mail filters."),
    "attachment.disk-image": (D, "The attachment {name} is a disk image ({detail}), which can hide programs "
                                 "from mail filters."),
    "attachment.type-mismatch": (D, "The attachment {name} is not what its name claims: {detail}."),
    # Secure-portal notifications
    "portal.notification": (G, "The message is a secure-message notification and its links go to {entity}."),
    "portal.fake-notification": (D, "The message looks like a secure-message notification, but its link "
                                    "leads to {host}, which is not a host of {entity}."),
    "portal.unexpected-link": (W, "This secure-message notification links to {host}, which is not a host "
                                  "of {entity}."),
    # Open platforms
    "partner.open-platform": (W, "{platform} is a platform anyone can send through, so this message proves "
                                 "only that it came through {platform}, not that {organisation} wrote it; "
                                 "{detail}."),
    "partner.brand-host": (G, "The survey link goes to {host}, which the allowlist lists as a host of "
                              "{organisation}."),
}

_MAX_SHOWN = 120


def shown(value: str, limit: int = _MAX_SHOWN) -> str:
    """Make text from a message safe to quote in a reason: no control characters, bounded length."""
    cleaned = "".join(" " if not character.isprintable() else character for character in value[: limit * 4])
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


def content_reason(code: str, **fields: object) -> Reason:
    """Build the :class:`Reason` for a content-analysis ``code`` with its message filled in.

    Raises KeyError for an unknown code or a missing field, so a typo fails in tests.
    :func:`mpsverify.reasons.make_reason` gives the same result; this module cannot
    import it because the catalogue there imports this one.
    """
    severity, template = CONTENT_CODES[code]
    return Reason(code, severity, template.format(**fields))
