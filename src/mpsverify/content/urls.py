"""Parse and normalise link URLs the way a browser reads them.

Mail clients hand links to browsers, and browsers follow the WHATWG URL Standard
rather than RFC 3986: they accept backslashes as slashes, any number of slashes
after the scheme, user-info before the host, percent-encoded and full-width host
characters, and IPv4 addresses written in decimal, hex or octal. This module reads
a URL the same way, so that the host judged here is the host a click reaches.
Nothing here performs I/O.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from urllib.parse import unquote, unquote_to_bytes

import idna

from ..psl import registrable_domain

logger = logging.getLogger(__name__)

#: The longest DNS name, in characters (RFC 1035 section 2.3.4, without the final dot).
MAX_DNS_NAME = 253
#: Hosts written longer than this, even percent-encoded, are marked invalid unread.
MAX_HOST_CHARS = 4 * MAX_DNS_NAME
#: Schemes whose authority the WHATWG URL Standard parses leniently.
SPECIAL_SCHEMES = frozenset({"http", "https", "ftp", "ws", "wss"})

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_STRIPPED = re.compile(r"[\t\n\r]")
_AUTHORITY_END = re.compile(r"[/\\?#]")
_IDEOGRAPHIC_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_HEX_PART = re.compile(r"^0[xX][0-9A-Fa-f]*$")
_OCTAL_PART = re.compile(r"^0[0-7]+$")
_DECIMAL_PART = re.compile(r"^[0-9]+$")
_NUMERIC_LOOKING = re.compile(r"^(?:[0-9]+|0[xX][0-9A-Fa-f]*)$")
# Characters the URL Standard forbids in a domain; anything else is kept as written.
_PLAIN_ASCII_HOST = re.compile(r"^[a-z0-9_](?:[a-z0-9_\-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_\-]*[a-z0-9_])?)*$")
_FORBIDDEN_HOST_CHARS = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")


@dataclass(frozen=True)
class ParsedUrl:
    """A URL split into the parts that decide where a click goes."""

    #: The URL after removing surrounding white space and embedded tabs and newlines.
    url: str
    #: Lower-case scheme, such as "https" or "mailto".
    scheme: str
    #: Host in lower-case ASCII (A-labels), an IPv4 address in dotted form, or an
    #: IPv6 address without brackets; empty when the URL has no usable host.
    host: str
    #: The host as a person reads it: U-labels where the host uses punycode.
    host_unicode: str = ""
    #: The host exactly as written in the URL, before any decoding.
    host_as_written: str = ""
    #: Registrable domain of ``host``; empty for IP addresses.
    registrable: str = ""
    #: User-info written before an "@" in the authority, percent-decoded.
    userinfo: str = ""
    #: Explicit port, or None when the URL names none.
    port: int | None = None
    #: 4 or 6 when the host is an IP address, 0 otherwise.
    ip_version: int = 0
    #: Path, query and fragment after the authority, as written.
    rest: str = ""
    #: False when the host cannot be a valid domain name or address.
    host_valid: bool = True

    @property
    def is_ip_literal(self) -> bool:
        """True when the host is an IP address rather than a name."""
        return self.ip_version != 0


def clean_url(raw: str) -> str:
    """Strip surrounding white space and control characters, and embedded tabs and newlines."""
    return _STRIPPED.sub("", raw.strip(" \t\n\r\f\v\x00"))


def parse_url(raw: str) -> ParsedUrl | None:
    """Parse ``raw`` as a browser would; return None for URLs that reach no host.

    Relative URLs and schemes such as javascript:, tel:, data: and cid: return None.
    A "www." URL without a scheme is read as http, as mail clients do.
    """
    url = clean_url(raw)
    if not url:
        return None
    match = _SCHEME.match(url)
    if match is None:
        if url.lower().startswith("www."):
            return _parse_authority_url("http", url, url)
        if url.startswith("//"):
            return _parse_authority_url("http", url, url.lstrip("/\\"))
        return None
    scheme = match.group(1).lower()
    after = url[match.end():]
    if scheme == "mailto":
        return _parse_mailto(url, after)
    if scheme in SPECIAL_SCHEMES:
        return _parse_authority_url(scheme, url, after.lstrip("/\\"))
    if after.startswith("//"):
        return _parse_authority_url(scheme, url, after[2:])
    return None


def _parse_authority_url(scheme: str, url: str, remainder: str) -> ParsedUrl:
    end = _AUTHORITY_END.search(remainder)
    authority = remainder if end is None else remainder[: end.start()]
    rest = "" if end is None else remainder[end.start():]
    userinfo, at, hostport = authority.rpartition("@")
    written, port, port_valid = _split_port(hostport)
    host = normalise_host(written)
    return _build(url, scheme, host, written, unquote(userinfo) if at else "", port, rest, port_valid)


def _parse_mailto(url: str, after: str) -> ParsedUrl | None:
    address = unquote(after.split("?", 1)[0].split(",", 1)[0]).strip()
    _, at, domain = address.rpartition("@")
    if not at or not domain:
        return None
    host = normalise_host(domain)
    return _build(url, "mailto", host, domain, "", None, "", True)


def _build(url: str, scheme: str, host: HostInfo, written: str, userinfo: str,
           port: int | None, rest: str, port_valid: bool) -> ParsedUrl:
    numeric = host.ip_version != 0 or not host.name or len(host.name) > MAX_DNS_NAME or _ends_in_number(host.name)
    registrable = "" if numeric else registrable_domain(host.name)
    return ParsedUrl(url=url, scheme=scheme, host=host.name, host_unicode=host.unicode_name,
                     host_as_written=written, registrable=registrable, userinfo=userinfo, port=port,
                     ip_version=host.ip_version, rest=rest, host_valid=host.valid and port_valid)


def _split_port(hostport: str) -> tuple[str, int | None, bool]:
    """Split "host:port"; an IPv6 literal keeps its brackets until ``normalise_host``."""
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            return hostport, None, False
        host, tail = hostport[: close + 1], hostport[close + 1:]
    else:
        host, colon, port_text = hostport.rpartition(":")
        if not colon:
            return hostport, None, True
        tail = ":" + port_text
    port_text = tail[1:] if tail.startswith(":") else tail
    if not port_text:
        return host, None, tail in ("", ":")
    if len(port_text) > 5 or not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:
        return host, None, False
    return host, int(port_text), True


@dataclass(frozen=True)
class HostInfo:
    """A host after percent-decoding, IDNA mapping and IP address parsing."""

    name: str
    unicode_name: str
    ip_version: int = 0
    valid: bool = True


def normalise_host(written: str) -> HostInfo:
    """Normalise a host as the URL Standard does.

    Percent-decode, map with UTS 46 (lower case, full-width forms, ideographic dots),
    read IPv4 numbers in every notation, and encode names as A-labels.
    """
    if len(written) > MAX_HOST_CHARS:
        # No DNS name is this long, so the host cannot resolve; skip the costly mapping.
        clipped = written[:MAX_DNS_NAME].lower()
        return HostInfo(clipped, clipped, valid=False)
    if written.startswith("[") and written.endswith("]"):
        return _ipv6_host(written[1:-1])
    if written.isascii() and "%" not in written:
        # UTS 46 maps ASCII only by lower-casing it.
        mapped = written.lower()
    else:
        decoded = unquote_to_bytes(written).decode("utf-8", errors="replace")
        mapped = _uts46_map(decoded.translate(_IDEOGRAPHIC_DOTS))
    if mapped.endswith("."):
        mapped = mapped[:-1]
    if not mapped:
        return HostInfo("", "", valid=False)
    if _ends_in_number(mapped):
        address = parse_ipv4(mapped)
        if address is None:
            return HostInfo(mapped, mapped, valid=False)
        return HostInfo(address, address, ip_version=4)
    return _domain_host(mapped)


def _uts46_map(host: str) -> str:
    try:
        return str(idna.uts46_remap(host, std3_rules=False, transitional=False))
    except idna.IDNAError:
        return host.lower()


def _domain_host(mapped: str) -> HostInfo:
    valid = _FORBIDDEN_HOST_CHARS.search(mapped) is None
    if _PLAIN_ASCII_HOST.match(mapped) and "xn--" not in mapped:
        # Already lower-case ASCII without punycode: IDNA encoding would not change it.
        return HostInfo(mapped, mapped, valid=valid)
    try:
        ascii_name = idna.encode(mapped, uts46=False).decode("ascii")
    except idna.IDNAError:
        # Browsers still open hosts that strict IDNA rejects, such as ones with
        # underscores, so an ASCII host is kept as written; others are marked invalid.
        if mapped.isascii():
            return HostInfo(mapped, _to_unicode(mapped), valid=valid)
        return HostInfo(_encode_labels(mapped), mapped, valid=False)
    return HostInfo(ascii_name, _to_unicode(ascii_name), valid=valid)


def _encode_labels(name: str) -> str:
    """Encode each label on its own with punycode, for a host strict IDNA rejects."""
    labels = []
    for label in name.split("."):
        if label.isascii():
            labels.append(label)
        else:
            labels.append("xn--" + label.encode("punycode").decode("ascii"))
    return ".".join(labels)


def _to_unicode(name: str) -> str:
    """Return ``name`` with each punycode label decoded, leaving undecodable labels as written."""
    if "xn--" not in name:
        return name
    labels = []
    for label in name.split("."):
        if label.startswith("xn--"):
            try:
                label = label[4:].encode("ascii").decode("punycode")
            except (UnicodeError, ValueError):
                pass
        labels.append(label)
    return ".".join(labels)


def _ipv6_host(inside: str) -> HostInfo:
    try:
        address = ipaddress.IPv6Address(unquote(inside).split("%", 1)[0])
    except ValueError:
        return HostInfo(inside.lower(), inside.lower(), valid=False)
    mapped = address.ipv4_mapped
    if mapped is not None:
        return HostInfo(str(mapped), str(mapped), ip_version=4)
    return HostInfo(address.compressed, address.compressed, ip_version=6)


def _ends_in_number(host: str) -> bool:
    """Apply the URL Standard's "ends in a number" test to a host."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    return _NUMERIC_LOOKING.match(parts[-1]) is not None


def parse_ipv4(host: str) -> str | None:
    """Parse a URL-Standard IPv4 host, such as 3325256711, 0xC6.0x33.0x64.7 or 0306.51.100.07.

    Returns the address in dotted-decimal form, or None when the host is not a
    valid IPv4 address in any notation the URL Standard accepts.
    """
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4:
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    values = [number for number in numbers if number is not None]
    if any(value > 255 for value in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    address = values[-1]
    for index, value in enumerate(values[:-1]):
        address += value * 256 ** (3 - index)
    return str(ipaddress.IPv4Address(address))


def _ipv4_number(part: str) -> int | None:
    if len(part) > 34:
        # Longer than any 32-bit number in octal with its prefix; also keeps int()
        # below Python's limit on digits converted from decimal text.
        return None
    if _HEX_PART.match(part):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        # A leading zero means octal; "08" is invalid, not eight.
        return int(part[1:], 8) if _OCTAL_PART.match(part) else None
    if _DECIMAL_PART.match(part):
        return int(part)
    return None
