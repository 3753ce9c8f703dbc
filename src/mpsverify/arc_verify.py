"""ARC (RFC 8617): let a trusted forwarder vouch for results it saw on arrival.

Mailing lists and forwarders change messages, which breaks the original DKIM
signature. If the forwarder sealed the message with ARC, and the chain validates,
and the latest sealer is one the caller trusts, the results that sealer recorded
in its ARC-Authentication-Results field can stand in for the broken ones.
dkimpy validates the chain; keys come through our resolver.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import dkim

from .authres_trust import parse_field
from .resolver import DnsStatus, Resolver
from .results import ArcResult, AuthresResult, Status

logger = logging.getLogger(__name__)


def verify_arc(raw: bytes, resolver: Resolver, trusted_sealers: Sequence[str]) -> tuple[
        ArcResult, tuple[AuthresResult, ...]]:
    """Validate the ARC chain; return the result and, when trusted, the sealer's recorded results."""
    temporary: list[str] = []

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        answer = resolver.query(name.decode("ascii", "replace"), "TXT")
        if answer.is_temporary_failure:
            temporary.append(answer.describe)
            return None
        if answer.status is not DnsStatus.OK or not answer.records:
            return None
        return answer.records[0].encode("latin-1", errors="replace")

    try:
        verifier = dkim.ARC(raw)
        count, _ = verifier.sorted_arc_headers()
        if count == 0:
            return ArcResult(Status.NONE), ()
        cv, instances, reason = verifier.verify(dnsfunc=dnsfunc)
    except (dkim.DKIMException, ValueError, IndexError, KeyError, TypeError) as error:
        return ArcResult(Status.PERMERROR, detail=f"the ARC fields are malformed ({error})"), ()
    return _result(cv, instances, str(reason), temporary, trusted_sealers)


def _result(cv: bytes | None, instances: list[dict[str, object]], reason: str, temporary: list[str],
            trusted_sealers: Sequence[str]) -> tuple[ArcResult, tuple[AuthresResult, ...]]:
    latest = instances[0] if instances else {}
    sealer = _decode(latest.get("as-domain") or latest.get("ams-domain")).lower()
    trusted = sealer in {item.lower().rstrip(".") for item in trusted_sealers}
    count = int(str(latest.get("instance", 0)))
    if cv != dkim.CV_Pass:
        status = Status.TEMPERROR if temporary else Status.FAIL
        return ArcResult(status, count, sealer, trusted, temporary[0] if temporary else reason), ()
    result = ArcResult(Status.PASS, count, sealer, trusted)
    if not trusted:
        return result, ()
    recorded = parse_field(_decode(latest.get("aar-value")), via_arc=True) or ()
    return result, recorded


def _decode(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", errors="replace")
    return str(value or "")
