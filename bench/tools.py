"""The two tools under test, each fed the same DNS answers from the corpus snapshot.

* mpsverify: one :class:`mpsverify.Verifier` with a :class:`SnapshotResolver`;
  the verifier caches DNS answers across messages.
* authheaders: ``authenticate_message`` with SPF, DKIM, ARC and DMARC on. Its DKIM,
  ARC and DMARC lookups go through ``dnsfunc``. Its SPF check calls pyspf, which
  looks names up through the module-level function ``spf.DNSLookup``. The worker
  replaces that function with one that reads the snapshot, in its own process only. authheaders finds the organisational domain for DMARC in the Public Suffix
  List file it ships (``authheaders/public_suffix_list.txt``), read from disk.
  authheaders 0.16.3 parses that whole file again on every ``get_org_domain`` call,
  about 0.3 s each and several calls per message. The tool "authheaders" memoises
  ``get_org_domain`` per domain, which gives the same results without the repeated
  parse, so the comparison measures the protocol work; "authheaders-as-shipped"
  leaves it as it is.

:func:`forbid_network` makes every socket connection and name lookup in the worker
raise, and counts the attempts, so a run that touched the network shows it.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import yaml

from .corpus import RECEIVER, Envelope

#: Network calls attempted in this process since :func:`forbid_network`.
network_attempts = 0


class NetworkForbidden(RuntimeError):
    """A benchmark worker tried to use the network."""


def forbid_network() -> None:
    """Make sockets and name lookups in this process raise :class:`NetworkForbidden`."""

    def raise_forbidden(*_args: Any, **_kwargs: Any) -> Any:
        global network_attempts
        network_attempts += 1
        raise NetworkForbidden("the benchmark must not use the network")

    socket.getaddrinfo = raise_forbidden
    socket.gethostbyname = raise_forbidden
    socket.create_connection = raise_forbidden
    socket.socket.connect = raise_forbidden  # type: ignore[method-assign]
    socket.socket.connect_ex = raise_forbidden  # type: ignore[method-assign]
    socket.socket.sendto = raise_forbidden  # type: ignore[method-assign]


class Tool(Protocol):
    """A message checker under test."""

    name: str

    def check(self, message: bytes, envelope: Envelope) -> str:
        """Check one message and return a short result label."""
        ...


def load_snapshot(path: Path) -> dict[str, dict[str, list[str]]]:
    """Read a DNS snapshot with lower-case names, for the authheaders adapter."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(name).lower().rstrip("."): {str(t).upper(): v for t, v in types.items()}
            for name, types in data.items()}


class MpsverifyTool:
    """mpsverify's Verifier with the snapshot resolver and the shipped allowlist."""

    name = "mpsverify"

    def __init__(self, snapshot: Path) -> None:
        from mpsverify import SnapshotResolver, Verifier
        from mpsverify import Envelope as MpsEnvelope

        self._envelope_type = MpsEnvelope
        self._verifier = Verifier(resolver=SnapshotResolver.from_file(snapshot))

    def check(self, message: bytes, envelope: Envelope) -> str:
        smtp = self._envelope_type(envelope.client_ip, envelope.helo, envelope.mail_from)
        return self._verifier.verify(message, smtp).verdict.value


class AuthheadersTool:
    """authheaders.authenticate_message with SPF, DKIM, ARC and DMARC."""

    name = "authheaders"

    def __init__(self, snapshot: Path, memoise_psl: bool = True) -> None:
        import authheaders
        import authheaders.dmarc_lookup
        import spf

        if memoise_psl:
            cached = functools.cache(authheaders.dmarc_lookup.get_org_domain)
            authheaders.dmarc_lookup.get_org_domain = cached
            authheaders.get_org_domain = cached
        self._records = load_snapshot(snapshot)
        self._authenticate = authheaders.authenticate_message
        # pyspf has no per-call DNS hook, so its module-level lookup function is
        # replaced for the whole worker process.
        spf.DNSLookup = self._pyspf_lookup

    def _txt(self, name: str) -> list[str]:
        answers = self._records.get(name.lower().rstrip("."), {}).get("TXT", [])
        return answers if isinstance(answers, list) else []

    def dnsfunc(self, name: str | bytes, timeout: float | None = None) -> str | bytes | None:
        """Return the first TXT record of ``name``, or None.

        dkimpy (DKIM and ARC keys) passes the name as bytes with ``timeout`` and
        expects bytes; authheaders' DMARC lookup passes a str and expects a str.
        """
        text_name = name.decode("ascii") if isinstance(name, bytes) else name
        answers = self._txt(text_name)
        if not answers:
            return None
        if isinstance(name, bytes) or timeout is not None:
            return answers[0].encode("latin-1")
        return answers[0]

    def _pyspf_lookup(self, name: str, qtype: str, tcpfallback: bool = True,
                      timeout: float = 30) -> list[tuple[tuple[str, str], Any]]:
        """Answer like pyspf's DNSLookup_dnspython: ((name, type), value) pairs."""
        key = str(name).lower().rstrip(".")
        answers = self._records.get(key, {}).get(qtype, [])
        results: list[tuple[tuple[str, str], Any]] = []
        for answer in answers if isinstance(answers, list) else []:
            value: Any = str(answer)
            if qtype in ("TXT", "SPF"):
                value = (value.encode("latin-1"),)
            elif qtype == "MX":
                preference, _, exchange = value.partition(" ")
                value = (int(preference), exchange)
            results.append(((key, qtype), value))
        return results

    def check(self, message: bytes, envelope: Envelope) -> str:
        header = self._authenticate(message, RECEIVER, spf=True, dkim=True, arc=True, dmarc=True,
                                    ip=envelope.client_ip, mail_from=envelope.mail_from,
                                    helo=envelope.helo, dnsfunc=self.dnsfunc)
        return _dmarc_label(header)


def _dmarc_label(header: str) -> str:
    marker = "dmarc="
    start = header.find(marker)
    if start < 0:
        return "dmarc=?"
    end = start + len(marker)
    while end < len(header) and header[end].isalpha():
        end += 1
    return header[start:end]


def _authheaders_as_shipped(snapshot: Path) -> Tool:
    tool = AuthheadersTool(snapshot, memoise_psl=False)
    tool.name = "authheaders-as-shipped"
    return tool


TOOLS: dict[str, Callable[[Path], Tool]] = {
    "mpsverify": MpsverifyTool,
    "authheaders": AuthheadersTool,
    "authheaders-as-shipped": _authheaders_as_shipped,
}
