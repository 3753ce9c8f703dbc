"""Undo link rewriting by mail security gateways, offline.

Gateways such as Microsoft Defender Safe Links and Proofpoint URL Defense replace
every link with one to their own service, which checks the real target at click
time. Most keep the target inside the new URL, so it can be read back without any
network request; the decoders here follow the formats those services document and
their published decoders implement. Opaque rewriters (Mimecast and the like) keep
only a token, so the target cannot be recovered and is reported as unknown.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from .urls import ParsedUrl, parse_url

logger = logging.getLogger(__name__)

#: Rewriters nested deeper than this are left wrapped; real mail shows at most two.
MAX_UNWRAP_DEPTH = 5


@dataclass(frozen=True)
class Unwrapped:
    """The result of undoing link rewriting on one URL."""

    #: The innermost URL that could be recovered; the input when nothing was rewritten.
    target: str
    #: Names of the rewriting services, outermost first; empty when none applied.
    services: tuple[str, ...] = ()
    #: The innermost rewriter keeps only a token, so ``target`` is still the wrapper.
    opaque: bool = False
    #: ``target`` parsed, or None when it names no host.
    parsed_target: ParsedUrl | None = None


def unwrap(url: str) -> Unwrapped:
    """Recover the original target of a rewritten link, following nested rewriters."""
    services: list[str] = []
    current = url
    parsed = parse_url(current)
    for _ in range(MAX_UNWRAP_DEPTH):
        if parsed is None:
            break
        opaque_service = opaque_rewriter(parsed)
        if opaque_service:
            return Unwrapped(current, (*services, opaque_service), opaque=True, parsed_target=parsed)
        decoded = _decode_once(parsed)
        if decoded is None:
            break
        service, current = decoded
        services.append(service)
        parsed = parse_url(current)
    return Unwrapped(current, tuple(services), parsed_target=parsed)


def _decode_once(parsed: ParsedUrl) -> tuple[str, str] | None:
    for service, matches, decode in _DECODERS:
        if not matches(parsed):
            continue
        try:
            inner = decode(parsed)
        except (ValueError, UnicodeError, IndexError, binascii.Error) as error:
            logger.debug("could not decode a %s link: %s", service, error)
            return None
        if inner:
            return service, inner
        return None
    return None


def opaque_rewriter(parsed: ParsedUrl) -> str:
    """Return the name of the opaque rewriting service ``parsed`` points to, or ""."""
    host = parsed.host
    if parsed.registrable == "mimecast.com" and host.startswith("protect-"):
        return "Mimecast URL Protect"
    if parsed.registrable in ("mimecastprotect.com", "mimecast-offshore.com"):
        return "Mimecast URL Protect"
    if parsed.registrable == "fireeye.com" and host.startswith("protect2."):
        return "Trellix (FireEye) URL protection"
    return ""


# -- query helpers ------------------------------------------------------------


def query_parameter(parsed: ParsedUrl, name: str) -> str:
    """Return the percent-decoded value of the first query parameter ``name``, or ""."""
    query = parsed.rest.split("#", 1)[0].partition("?")[2]
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == name:
            return unquote(value)
    return ""


def _path(parsed: ParsedUrl) -> str:
    return re.split(r"[?#]", parsed.rest, maxsplit=1)[0].replace("\\", "/")


# -- Microsoft Defender for Office 365 Safe Links ----------------------------


def _is_safelinks(parsed: ParsedUrl) -> bool:
    return parsed.host.endswith((".safelinks.protection.outlook.com", ".safelinks.protection.office365.us"))


def _decode_safelinks(parsed: ParsedUrl) -> str:
    return query_parameter(parsed, "url")


# -- Proofpoint URL Defense ---------------------------------------------------


def _is_proofpoint_v1(parsed: ParsedUrl) -> bool:
    return parsed.host == "urldefense.proofpoint.com" and _path(parsed).startswith("/v1/url")


def _is_proofpoint_v2(parsed: ParsedUrl) -> bool:
    return parsed.host == "urldefense.proofpoint.com" and _path(parsed).startswith("/v2/url")


def _is_proofpoint_v3(parsed: ParsedUrl) -> bool:
    return parsed.host in ("urldefense.com", "urldefense.us") and _path(parsed).startswith("/v3/__")


def _decode_proofpoint_v1(parsed: ParsedUrl) -> str:
    return query_parameter(parsed, "u")


def _decode_proofpoint_v2(parsed: ParsedUrl) -> str:
    # Version 2 writes "%" as "-" and "/" as "_" inside the u= parameter.
    query = parsed.rest.split("#", 1)[0].partition("?")[2]
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == "u":
            return unquote(value.replace("-", "%").replace("_", "/"))
    return ""


# Version 3 replaces unsafe characters with "*" and runs of them with "**" plus a
# length letter; the characters themselves follow in URL-safe base64 after "__;".
_V3_PATTERN = re.compile(r"/v3/__(?P<url>.+?)__;(?P<bytes>[^!]*)!")
_V3_TOKEN = re.compile(r"\*(\*.)?")
_V3_RUN_LENGTHS = {char: length for length, char in enumerate(
    string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_", start=2)}


def _decode_proofpoint_v3(parsed: ParsedUrl) -> str:
    match = _V3_PATTERN.search(parsed.url)
    if match is None:
        return ""
    encoded_url = unquote(match.group("url"))
    encoded_bytes = match.group("bytes")
    replacements = base64.urlsafe_b64decode(encoded_bytes + "=" * (-len(encoded_bytes) % 4)).decode("utf-8")
    position = 0

    def replace(token: re.Match[str]) -> str:
        nonlocal position
        length = 1 if token.group(1) is None else _V3_RUN_LENGTHS[token.group(1)[1]]
        run = replacements[position: position + length]
        if len(run) < length:
            raise ValueError("Proofpoint v3 link has fewer encoded characters than markers")
        position += length
        return run

    return _V3_TOKEN.sub(replace, encoded_url)


# -- Google redirects and other transparent rewriters -------------------------


def _is_google_redirect(parsed: ParsedUrl) -> bool:
    return parsed.registrable.split(".", 1)[0] == "google" and _path(parsed) == "/url"


def _decode_google_redirect(parsed: ParsedUrl) -> str:
    return query_parameter(parsed, "q") or query_parameter(parsed, "url")


def _is_barracuda(parsed: ParsedUrl) -> bool:
    return parsed.host == "linkprotect.cudasvc.com"


def _is_trend_micro(parsed: ParsedUrl) -> bool:
    return parsed.registrable in ("trendmicro.com", "trendmicro.eu") and "/wis/clicktime/" in _path(parsed)


def _is_symantec(parsed: ParsedUrl) -> bool:
    return parsed.host == "clicktime.symantec.com"


def _is_sophos(parsed: ParsedUrl) -> bool:
    return parsed.host.endswith(".protection.sophos.com")


def _decode_sophos(parsed: ParsedUrl) -> str:
    value = query_parameter(parsed, "u")
    return base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")


def _is_cisco(parsed: ParsedUrl) -> bool:
    return parsed.host == "secure-web.cisco.com"


def _decode_cisco(parsed: ParsedUrl) -> str:
    # The path is /<token>/<percent-encoded target URL>.
    segments = _path(parsed).split("/", 2)
    return unquote(segments[2]) if len(segments) == 3 else ""


def _parameter_decoder(name: str) -> Callable[[ParsedUrl], str]:
    return lambda parsed: query_parameter(parsed, name)


_DECODERS: tuple[tuple[str, Callable[[ParsedUrl], bool], Callable[[ParsedUrl], str]], ...] = (
    ("Microsoft Safe Links", _is_safelinks, _decode_safelinks),
    ("Proofpoint URL Defense", _is_proofpoint_v1, _decode_proofpoint_v1),
    ("Proofpoint URL Defense", _is_proofpoint_v2, _decode_proofpoint_v2),
    ("Proofpoint URL Defense", _is_proofpoint_v3, _decode_proofpoint_v3),
    ("a Google redirect", _is_google_redirect, _decode_google_redirect),
    ("Barracuda Link Protection", _is_barracuda, _parameter_decoder("a")),
    ("Trend Micro Click Time Protection", _is_trend_micro, _parameter_decoder("url")),
    ("Symantec Click-time URL Protection", _is_symantec, _parameter_decoder("u")),
    ("Sophos Time-of-Click Protection", _is_sophos, _decode_sophos),
    ("Cisco Secure Email URL rewriting", _is_cisco, _decode_cisco),
)
