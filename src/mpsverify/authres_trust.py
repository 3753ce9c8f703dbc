"""Authentication-Results fields (RFC 8601), trusted only from configured servers.

Any sender can add an Authentication-Results field claiming that DKIM passed, so
a field counts only when its authserv-id is one the caller trusts: normally the
receiving server that checked the message on arrival (RFC 8601 section 5). The
others are reported and ignored. authres parses the fields.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

import authres

from .message import Header
from .results import AuthresResult

logger = logging.getLogger(__name__)

_ARC_INSTANCE = re.compile(r"^\s*i\s*=\s*(\d+)\s*;", re.IGNORECASE)


def parse_field(value: str, via_arc: bool = False) -> tuple[AuthresResult, ...] | None:
    """Parse one field value; return None when authres cannot parse it."""
    text = _ARC_INSTANCE.sub("", value, count=1) if via_arc else value
    try:
        parsed = authres.parse("Authentication-Results: " + text.replace("\r\n", " "))
    except (authres.AuthResError, ValueError, IndexError, TypeError, AttributeError) as error:
        logger.debug("unparsable Authentication-Results field: %s", error)
        return None
    authserv_id = str(parsed.authserv_id or "").lower()
    return tuple(
        AuthresResult(
            authserv_id=authserv_id,
            method=str(result.method).lower(),
            status=str(result.result).lower(),
            properties=tuple((f"{p.type}.{p.name}".lower(), str(p.value)) for p in result.properties),
            via_arc=via_arc,
        )
        for result in parsed.results
    )


def split_trusted(headers: Iterable[Header], trusted_ids: Sequence[str]) -> tuple[
        tuple[AuthresResult, ...], tuple[str, ...]]:
    """Return the results from trusted fields and the authserv-ids of ignored ones.

    Only the fields above the first untrusted one could have been added by a
    trusted server on arrival. But trusted servers are expected to remove forged
    fields bearing their own id (RFC 8601 section 5), so every field with a
    trusted id is used.
    """
    trusted = {item.lower() for item in trusted_ids}
    results: list[AuthresResult] = []
    ignored: list[str] = []
    for header in headers:
        if header.key != "authentication-results":
            continue
        # Parsing is the costly step, so untrusted fields are only read up to their id.
        authserv_id = _authserv_id_guess(header.value)
        parsed = parse_field(header.value) if authserv_id in trusted else None
        if parsed and parsed[0].authserv_id in trusted:
            results.extend(parsed)
        elif authserv_id not in ignored:
            ignored.append(authserv_id)
    return tuple(results), tuple(ignored)


def _authserv_id_guess(value: str) -> str:
    """Return the authserv-id: the first word before the first semicolon, without a version."""
    head = value.split(";", 1)[0].strip().lower()
    return head.split()[0][:100] if head else "an unnamed server"


def property_value(result: AuthresResult, name: str) -> str:
    """Return the value of property ``name`` (such as "header.d"), or ""."""
    return next((value for key, value in result.properties if key == name), "")
