"""The catalogue of reason codes: each has a severity and a sentence template.

Codes are stable: callers and mail filters match on them. Messages are written for
a helpdesk reader who does not know the protocols, and tests check them word for
word. Content-analysis codes live in :mod:`mpsverify.content.codes` and are merged in
here so that there is one catalogue.
"""

from __future__ import annotations

from typing import Final

from .content.codes import CONTENT_CODES
from .results import Reason, Severity

G, I, W, D = Severity.GOOD, Severity.INFO, Severity.WARNING, Severity.DANGER

_CORE_CODES: Final[dict[str, tuple[Severity, str]]] = {
    # Message structure
    "message.limits-exceeded": (W, "The message is larger or more deeply nested than the checker reads "
                                   "({limit}), so only part of it was examined."),
    "message.not-email": (W, "The input is not an email message: it has no header fields."),
    "message.malformed": (W, "The message is not well formed: {detail}."),
    # From field
    "from.missing": (D, "The message has no From field, so it does not say who wrote it."),
    "from.invalid": (D, "The From field does not contain exactly one valid email address ({detail}), "
                        "so the author cannot be identified."),
    "from.multiple-headers": (D, "The message has {count} From fields; a mail program may show a "
                                 "different one from the one that was checked."),
    "from.multiple-addresses": (D, "The From field lists {count} addresses, so the author is ambiguous."),
    # SPF
    "spf.pass": (G, "The sending server {ip} is authorised to send mail for {domain} (SPF)."),
    "spf.fail": (W, "The sending server {ip} is not authorised to send mail for {domain} (SPF)."),
    "spf.softfail": (W, "{domain} says the sending server {ip} is probably not one of its servers (SPF)."),
    "spf.neutral": (I, "{domain} makes no statement about the sending server {ip} (SPF)."),
    "spf.none": (I, "{domain} publishes no SPF record."),
    "spf.temperror": (W, "The SPF record of {domain} could not be fetched: {detail}."),
    "spf.permerror": (W, "The SPF record of {domain} is broken: {detail}."),
    "spf.not-checked": (I, "SPF was not checked, because the sending server's address and envelope "
                           "sender were not given and no trusted server recorded a result."),
    "envelope.invalid-client-ip": (W, "The sending server's address {address} is not an IP address, so SPF "
                                      "was not checked."),
    "envelope.invalid-mail-from": (W, "The envelope sender {address} is not a valid address, so it was "
                                      "neither looked up nor trusted."),
    # DKIM
    "dkim.pass": (G, "A DKIM signature by {domain} verified."),
    "dkim.fail": (W, "A DKIM signature by {domain} did not verify: {detail}."),
    "dkim.temperror": (W, "The DKIM key for {domain} could not be fetched: {detail}."),
    "dkim.permerror": (W, "A DKIM signature by {domain} is unusable: {detail}."),
    "dkim.none": (I, "The message carries no DKIM signature."),
    "dkim.weak-key": (D, "A DKIM signature by {domain} uses a {bits}-bit key; keys shorter than 1024 "
                         "bits are not accepted, so the signature does not count."),
    "dkim.body-length-limit": (D, "A DKIM signature by {domain} covers only the first {signed} bytes of "
                                  "the body; {unsigned} bytes after that could have been added by anyone."),
    "dkim.too-many-signatures": (W, "The message carries {count} DKIM signatures; only the first {limit} "
                                    "were checked."),
    # ARC
    "arc.pass": (G, "The forwarding server {sealer}, which is trusted, vouches that the message "
                    "passed authentication when it first arrived."),
    "arc.untrusted": (I, "The message was forwarded by {sealer}, which is not on the trusted list, so "
                         "its account of earlier checks was not used."),
    "arc.fail": (W, "The ARC chain added by forwarding servers is broken: {detail}."),
    # Authentication-Results
    "authres.trusted": (G, "Results recorded by the trusted receiving server {authserv_id} were used."),
    "authres.untrusted": (I, "An Authentication-Results field from {authserv_id} was ignored, because "
                             "that server is not on the trusted list; anyone can write such a field."),
    # DMARC
    "dmarc.pass": (G, "{domain} is verified as the author domain: {evidence}."),
    "dmarc.fail": (D, "Nothing verifies {domain} as the author domain: {detail}."),
    "dmarc.temperror": (W, "DMARC could not be decided for {domain}: {detail}."),
    "dmarc.none": (W, "{domain} publishes no DMARC policy, and nothing verifies it as the author domain."),
    # Entities
    "entity.organisation": (G, "The author domain {domain} belongs to {entity}."),
    "entity.partner": (G, "The author domain {domain} belongs to {entity}, {description}."),
    "entity.portal": (G, "The author domain {domain} belongs to {entity}, {description}."),
    "entity.none": (I, "The author domain {domain} does not belong to MPS or any listed partner."),
}

CATALOGUE: Final[dict[str, tuple[Severity, str]]] = {**_CORE_CODES, **CONTENT_CODES}


def make_reason(code: str, **fields: object) -> Reason:
    """Build the :class:`Reason` for ``code`` with its message filled in.

    Raises KeyError for an unknown code or a missing field, so a typo fails in tests.
    """
    severity, template = CATALOGUE[code]
    return Reason(code, severity, template.format(**fields))
