"""SPF (RFC 7208) for the envelope sender, evaluated by pyspf through our resolver.

SPF checks whether the connecting IP address may send mail for the domain in the
SMTP MAIL FROM command; when MAIL FROM is null (a bounce), the HELO name is the
identity instead (RFC 7208 section 2.4). pyspf implements the record language and
the processing limits; this module feeds it our DNS answers, so snapshots and the
per-message budget apply, and it refuses identities that are not domain names.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass

import spf as pyspf

from .resolver import DnsAnswer, DnsStatus, Resolver
from .results import SpfResult, Status

logger = logging.getLogger(__name__)

# RFC 7208 section 4.3 and RFC 1035 section 2.3.1: letters, digits and hyphens in
# labels of at most 63 characters, with at least two labels. Underscores are
# tolerated because some real sending hosts use them.
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class Envelope:
    """The SMTP transaction a message arrived in; None means not known."""

    client_ip: str | None = None
    helo: str | None = None
    #: The MAIL FROM address; "" is the null reverse-path "<>".
    mail_from: str | None = None


def is_valid_domain(domain: str) -> bool:
    """Return True when ``domain`` is a syntactically valid host name of two labels or more."""
    name = domain.rstrip(".").lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return False
    labels = name.split(".")
    return len(name) <= 253 and len(labels) >= 2 and all(_LABEL.match(label) for label in labels)


def mail_from_domain(mail_from: str) -> str | None:
    """Return the domain of a MAIL FROM address, or None when it is not a valid address.

    A domain holding a parenthesis, a quote or a second @ sign is refused, so that
    such a string is never looked up as written nor aligned with the author domain.
    An empty local-part is allowed, because RFC 7208 section 4.3 gives it a meaning.
    """
    address = mail_from.strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1]
    local, at, domain = address.rpartition("@")
    if not at or "@" in local and not local.startswith('"'):
        return None
    if not is_valid_domain(domain):
        return None
    return domain.rstrip(".").lower()


class _Query(pyspf.query):  # type: ignore[misc]
    """A pyspf query whose DNS lookups go through a :class:`Resolver`."""

    def __init__(self, resolver: Resolver, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._resolver = resolver

    def dns(self, name: str, qtype: str, cnames: object = None, ignore_void: bool = False) -> list[object]:
        name = str(name).rstrip(".").lower()
        if not name or not all(0 < len(label) < 64 for label in name.split(".")):
            return []
        if qtype == "SPF":
            return []  # RFC 7208 section 3.1: the SPF record type is no longer used.
        cached = self.cache.get((name, qtype))
        if cached:
            return list(cached)
        answer = self._resolver.query(name, qtype)
        if answer.is_temporary_failure:
            raise pyspf.TempError(f"DNS {answer.describe} for {name} {qtype}")
        result = _to_pyspf(answer, qtype)
        self.cache[(name, qtype)] = result
        if not result and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > pyspf.MAX_VOID_LOOKUPS:
                raise pyspf.PermError(f"Void lookup limit of {pyspf.MAX_VOID_LOOKUPS} exceeded")
        return result


    def validated_ptrs(self) -> list[str]:
        """Return the PTR names of the client that resolve back to it.

        RFC 7208 section 5.5: a DNS error while validating one PTR name skips that
        name instead of ending the check. pyspf 2.0.14 lets the error escape.
        """
        names: list[str] = []
        for name in self.dns_ptr(self.i)[: pyspf.MAX_PTR]:
            try:
                if self.cidrmatch(self.dns_a(name, self.A), self.cidrmax):
                    names.append(name)
            except pyspf.TempError:
                continue
        return names


def _to_pyspf(answer: DnsAnswer, qtype: str) -> list[object]:
    """Convert our answer to the value shapes pyspf's own lookup returns."""
    if answer.status is not DnsStatus.OK:
        return []
    values: list[object] = []
    for record in answer.records:
        if qtype == "TXT":
            values.append([record.encode("latin-1", errors="replace")])
        elif qtype == "MX":
            preference, _, exchange = record.partition(" ")
            values.append((int(preference) if preference.isdigit() else 0, exchange.rstrip(".")))
        else:
            values.append(record.rstrip("."))
    return values


def check_spf(envelope: Envelope, resolver: Resolver, timeout: float = 20.0) -> SpfResult:
    """Evaluate SPF for the MAIL FROM identity, or for HELO when MAIL FROM is null."""
    if envelope.client_ip is None or envelope.mail_from is None and envelope.helo is None:
        return SpfResult(Status.NOT_CHECKED)
    try:
        ipaddress.ip_address(envelope.client_ip)
    except ValueError:
        return SpfResult(Status.NOT_CHECKED, explanation=f"{envelope.client_ip!r} is not an IP address")
    helo = (envelope.helo or "").strip()
    if envelope.mail_from is None or envelope.mail_from.strip() in ("", "<>"):
        return _check_helo(envelope.client_ip, helo, resolver, timeout)
    domain = mail_from_domain(envelope.mail_from)
    if domain is None:
        return SpfResult(Status.NONE, "mailfrom", "", "the MAIL FROM address is not a valid address")
    # RFC 7208 section 4.3: a sender without a local-part is treated as postmaster.
    local = envelope.mail_from.strip().strip("<>").rpartition("@")[0] or "postmaster"
    return _run(envelope.client_ip, f"{local}@{domain}", helo or domain, "mailfrom", domain, resolver, timeout)


def _check_helo(client_ip: str, helo: str, resolver: Resolver, timeout: float) -> SpfResult:
    if not is_valid_domain(helo):
        return SpfResult(Status.NONE, "helo", "", "the HELO name is not a domain name")
    domain = helo.rstrip(".").lower()
    return _run(client_ip, f"postmaster@{domain}", domain, "helo", domain, resolver, timeout)


def _run(client_ip: str, sender: str, helo: str, scope: str, domain: str,
         resolver: Resolver, timeout: float) -> SpfResult:
    query = _Query(resolver, i=client_ip, s=sender, h=helo, querytime=timeout, timeout=timeout)
    try:
        result, _code, explanation = query.check()
    except (pyspf.TempError, OSError) as error:
        result, explanation = "temperror", str(error)
    except pyspf.PermError as error:
        result, explanation = "permerror", str(error)
    status = _STATUS.get(str(result), Status.PERMERROR)
    logger.debug("spf %s=%s ip=%s result=%s", scope, domain, client_ip, status.value)
    return SpfResult(status, scope, domain, str(explanation))


_STATUS = {
    "pass": Status.PASS,
    "fail": Status.FAIL,
    "softfail": Status.SOFTFAIL,
    "neutral": Status.NEUTRAL,
    "none": Status.NONE,
    "temperror": Status.TEMPERROR,
    "permerror": Status.PERMERROR,
    "ambiguous": Status.PERMERROR,
}
