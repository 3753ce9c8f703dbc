"""One DNS interface for SPF, DKIM, ARC and DMARC, answered live or from a snapshot.

Every lookup returns a :class:`DnsAnswer`; failures are values, not exceptions,
so each protocol can turn them into a temperror result. A resolver also enforces
a total time budget for one message: once it is spent, further lookups fail as
timeouts at once instead of waiting.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from .errors import SnapshotError, SnapshotReadError

logger = logging.getLogger(__name__)

#: CNAME links a snapshot lookup follows before failing.
MAX_CNAME_CHAIN = 16


class DnsStatus(enum.Enum):
    """Outcome of one DNS query."""

    OK = "ok"
    #: The name exists but has no record of the requested type.
    NODATA = "nodata"
    #: The name does not exist.
    NXDOMAIN = "nxdomain"
    #: The server reported a failure; a later attempt may succeed.
    SERVFAIL = "servfail"
    #: No answer within the time allowed, or the per-message budget was spent.
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class DnsAnswer:
    """Records for one (name, type) query, in presentation form.

    TXT records are the concatenation of their character-strings, decoded as
    Latin-1 so that every byte survives. MX records read "PREFERENCE EXCHANGE".
    """

    status: DnsStatus
    records: tuple[str, ...] = ()

    @property
    def is_temporary_failure(self) -> bool:
        """True when the query failed in a way a later attempt might not."""
        return self.status in (DnsStatus.SERVFAIL, DnsStatus.TIMEOUT)

    @property
    def describe(self) -> str:
        """A short phrase for messages, such as "the DNS server failed"."""
        return _DESCRIPTIONS[self.status]


_DESCRIPTIONS = {
    DnsStatus.OK: "records were found",
    DnsStatus.NODATA: "no record of that type exists",
    DnsStatus.NXDOMAIN: "the domain does not exist",
    DnsStatus.SERVFAIL: "the DNS server failed",
    DnsStatus.TIMEOUT: "the DNS query timed out",
}


class Resolver(Protocol):
    """DNS lookup interface shared by every protocol check."""

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Look up ``name`` (no trailing dot needed) for records of ``rdtype``."""
        ...


def _normalise_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


class SnapshotResolver:
    """Answers from a YAML snapshot and never touches the network.

    The snapshot maps a domain name to a mapping from record type to a list of
    answers; a name not listed does not exist, a listed name without the type has
    no data, and the string SERVFAIL or TIMEOUT in place of the list fails that way.
    """

    def __init__(self, records: Mapping[str, Mapping[str, Any]], label: str = "<snapshot>") -> None:
        self._records: dict[str, dict[str, Any]] = {}
        for name, types in records.items():
            if not isinstance(name, str) or not isinstance(types, Mapping):
                raise SnapshotError(f"{label}: entry {name!r} must map record types to answers")
            self._records[_normalise_name(name)] = {str(t).upper(): v for t, v in types.items()}
            for rdtype, value in types.items():
                _check_snapshot_value(label, name, str(rdtype), value)
        self.queries: list[tuple[str, str]] = []

    @classmethod
    def from_file(cls, path: str | Path) -> SnapshotResolver:
        """Load a snapshot file; raises SnapshotError with the file name on any problem."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise SnapshotReadError(f"{path}: cannot read the DNS snapshot: {error.strerror or error}") from None
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise SnapshotError(f"{path}: the DNS snapshot is not valid YAML: {error}") from None
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise SnapshotError(f"{path}: the DNS snapshot must be a mapping from names to records")
        return cls(data, str(path))

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        key = _normalise_name(name)
        self.queries.append((key, rdtype))
        seen = {key}
        types = self._records.get(key)
        value = types.get(rdtype.upper()) if types else None
        # Follow CNAMEs as a recursive server would; a loop or a chain longer than
        # MAX_CNAME_CHAIN fails like a server that gives up.
        while types is not None and value is None and types.get("CNAME") and rdtype.upper() != "CNAME":
            target = _normalise_name(str(types["CNAME"][0]))
            if target in seen or len(seen) > MAX_CNAME_CHAIN:
                return DnsAnswer(DnsStatus.SERVFAIL)
            seen.add(target)
            types = self._records.get(target)
            value = types.get(rdtype.upper()) if types else None
        if types is None:
            return DnsAnswer(DnsStatus.NXDOMAIN)
        if value is None:
            return DnsAnswer(DnsStatus.NODATA)
        if value == "SERVFAIL":
            return DnsAnswer(DnsStatus.SERVFAIL)
        if value == "TIMEOUT":
            return DnsAnswer(DnsStatus.TIMEOUT)
        return DnsAnswer(DnsStatus.OK, tuple(str(item) for item in value))


def _check_snapshot_value(label: str, name: object, rdtype: str, value: object) -> None:
    if value in ("SERVFAIL", "TIMEOUT"):
        return
    if not isinstance(value, list) or not all(isinstance(item, (str, int)) for item in value):
        raise SnapshotError(f"{label}: {name} {rdtype}: answers must be a list of strings, "
                            f"or SERVFAIL or TIMEOUT")


class LiveResolver:
    """Queries DNS servers with dnspython.

    ``nameservers`` and ``port`` default to the system configuration. ``timeout``
    bounds one query in seconds.
    """

    def __init__(self, nameservers: list[str] | None = None, port: int = 53, timeout: float = 3.0) -> None:
        import dns.resolver

        configure = not nameservers
        self._resolver = dns.resolver.Resolver(configure=configure)
        if nameservers:
            self._resolver.nameservers = list(nameservers)
        self._resolver.port = port
        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout
        self._resolver.retry_servfail = False

    def query(self, name: str, rdtype: str, timeout: float | None = None) -> DnsAnswer:
        """Query DNS; ``timeout`` shortens the configured limit for this query only."""
        import dns.exception
        import dns.resolver

        lifetime = self._resolver.lifetime if timeout is None else min(timeout, self._resolver.lifetime)
        try:
            answer = self._resolver.resolve(_normalise_name(name) + ".", rdtype, search=False,
                                            raise_on_no_answer=False, lifetime=max(lifetime, 0.001))
        except dns.resolver.NXDOMAIN:
            return DnsAnswer(DnsStatus.NXDOMAIN)
        except (dns.resolver.LifetimeTimeout, dns.exception.Timeout):
            return DnsAnswer(DnsStatus.TIMEOUT)
        except (dns.resolver.NoNameservers, dns.resolver.YXDOMAIN, dns.exception.DNSException) as error:
            logger.debug("DNS query %s %s failed: %s", name, rdtype, error)
            return DnsAnswer(DnsStatus.SERVFAIL)
        if answer.rrset is None:
            return DnsAnswer(DnsStatus.NODATA)
        return DnsAnswer(DnsStatus.OK, tuple(_presentation(rdtype, rdata) for rdata in answer.rrset))


def _presentation(rdtype: str, rdata: Any) -> str:
    if rdtype == "TXT":
        return b"".join(rdata.strings).decode("latin-1")
    if rdtype == "MX":
        return f"{rdata.preference} {rdata.exchange.to_text(omit_final_dot=True)}"
    return str(rdata.to_text()).rstrip(".")


class AnswerCache:
    """DNS answers shared between messages, each kept for at most ``max_age`` seconds.

    NOTE: the age limit is fixed rather than the record's own TTL, because a
    DnsAnswer does not carry one. A key removed from DNS is still used for up to
    ``max_age`` seconds.
    """

    def __init__(self, max_age: float = 300.0, max_entries: int = 100_000) -> None:
        self.max_age = max_age
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], tuple[float, DnsAnswer]] = {}

    def get(self, key: tuple[str, str]) -> DnsAnswer | None:
        """Return the cached answer for ``key`` when it is younger than ``max_age``."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.max_age:
            return None
        return entry[1]

    def put(self, key: tuple[str, str], answer: DnsAnswer) -> None:
        """Store ``answer``; a full cache is emptied first, which bounds its memory."""
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), answer)


class BudgetedResolver:
    """Caches answers and enforces a total time budget and query count for one message.

    Wrap a fresh instance around the shared resolver for each message; an
    :class:`AnswerCache` may be shared between messages by passing ``cache``.
    """

    def __init__(self, inner: Resolver, budget_seconds: float = 10.0, max_queries: int = 100,
                 cache: AnswerCache | None = None) -> None:
        self._inner = inner
        self._deadline = time.monotonic() + budget_seconds
        self._remaining = max_queries
        self._cache = cache if cache is not None else AnswerCache()
        self.budget_exhausted = False

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        key = (_normalise_name(name), rdtype.upper())
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        remaining_time = self._deadline - time.monotonic()
        if self._remaining <= 0 or remaining_time <= 0:
            self.budget_exhausted = True
            return DnsAnswer(DnsStatus.TIMEOUT)
        self._remaining -= 1
        if isinstance(self._inner, LiveResolver):
            # The last query may not run past the budget: it gets only the time left.
            answer = self._inner.query(key[0], key[1], timeout=remaining_time)
        else:
            answer = self._inner.query(key[0], key[1])
        if not answer.is_temporary_failure:
            self._cache.put(key, answer)
        return answer
