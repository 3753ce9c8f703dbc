"""DNS faults from a misbehaving server on loopback, through LiveResolver and verify().

A small UDP and TCP responder built with dnspython runs on 127.0.0.1 for this
module, and each name under faults.example triggers one fault. The faults are
no reply, SERVFAIL, REFUSED, a UDP reply that is always truncated so that TCP is
needed, a TXT record too large for UDP, a TXT record split into hundreds of
strings, many TXT records, CNAME chains and CNAME loops. Every lookup must end in a DnsAnswer and every check in a
result (temperror or permerror for real faults, pass where TCP delivers a good
answer), within the configured time budget and without an exception.
"""

from __future__ import annotations

import base64
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import dkim
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import nacl.signing
import pytest

from mpsverify import DnsStatus, Envelope, LiveResolver, Settings, Status, Verifier, verify
from mpsverify.allowlist import default_allowlist

NOW = datetime(2026, 12, 10, 10, 0, tzinfo=timezone.utc)
#: Seconds one live query may take; a reply over loopback takes about a millisecond.
QUERY_TIMEOUT = 0.4
#: Total DNS seconds for one message in the verify() tests.
BUDGET = 2.0
#: Time allowed on top of the budget: one query that starts just before the
#: deadline may run for its whole timeout, plus CPU time for the checks.
SLACK = QUERY_TIMEOUT + 1.0
CLIENT_IP = "192.0.2.10"

SIGNING_KEY = nacl.signing.SigningKey(bytes(range(32)))
PUBLIC_KEY = base64.b64encode(bytes(SIGNING_KEY.verify_key)).decode()
GOOD_KEY = f"v=DKIM1; k=ed25519; p={PUBLIC_KEY}"


# The responder


class FaultyZone:
    """Records and faults by name, answered as a recursive server would."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[str]] = {}
        #: Name -> one of "timeout", "servfail", "refused", "truncate-udp",
        #: "truncate-udp-tcp-timeout", "garbage".
        self.faults: dict[str, str] = {}

    def add(self, name: str, rdtype: str, *values: str) -> None:
        self.records.setdefault((name.lower(), rdtype), []).extend(values)

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        """Build the full response, following CNAMEs inside the zone like a recursive server."""
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        seen: set[str] = set()
        while name not in seen:
            seen.add(name)
            values = self.records.get((name, rdtype))
            if values:
                response.answer.append(_rrset(name, rdtype, values))
                return response
            cname = self.records.get((name, "CNAME"))
            if not cname or rdtype == "CNAME":
                break
            response.answer.append(_rrset(name, "CNAME", cname))
            name = cname[0].rstrip(".").lower()
        if not response.answer and not any(key[0] == name for key in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response


def _rrset(name: str, rdtype: str, values: list[str]) -> dns.rrset.RRset:
    if rdtype == "TXT":
        # Values are already in presentation form: quoted character-strings.
        return dns.rrset.from_text_list(name + ".", 60, "IN", rdtype, values)
    return dns.rrset.from_text_list(name + ".", 60, "IN", rdtype,
                                    [value if value.endswith(".") else value + "." for value in values]
                                    if rdtype == "CNAME" else values)


def _fault_for(zone: FaultyZone, query: dns.message.Message) -> str:
    name = query.question[0].name.to_text(omit_final_dot=True).lower()
    for suffix, fault in zone.faults.items():
        if name == suffix or name.endswith("." + suffix):
            return fault
    return ""


def respond(zone: FaultyZone, wire: bytes, transport: str) -> bytes | None:
    """Return the reply to one query in wire form, or None to send nothing."""
    try:
        query = dns.message.from_wire(wire)
    except Exception:  # a test server that dies on a bad datagram would hide the client's behaviour
        return None
    fault = _fault_for(zone, query)
    if fault == "timeout" or fault == "truncate-udp-tcp-timeout" and transport == "tcp":
        return None
    if fault == "garbage":
        return wire[:2] + b"\x81\x80" + bytes(range(40))
    if fault in ("servfail", "refused"):
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.SERVFAIL if fault == "servfail" else dns.rcode.REFUSED)
        return response.to_wire()
    response = zone.answer(query)
    full = response.to_wire(max_size=65535)
    limit = max(512, query.payload if query.edns >= 0 else 512)
    if transport == "udp" and (len(full) > limit or fault.startswith("truncate-udp")):
        truncated = dns.message.make_response(query)
        truncated.flags |= dns.flags.TC
        return truncated.to_wire()
    return full


class _UdpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        reply = respond(self.server.zone, data, "udp")  # type: ignore[attr-defined]
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _TcpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(5)
        try:
            header = self.request.recv(2)
            if len(header) < 2:
                return
            (length,) = struct.unpack("!H", header)
            data = b""
            while len(data) < length:
                chunk = self.request.recv(length - len(data))
                if not chunk:
                    return
                data += chunk
        except OSError:
            return
        reply = respond(self.server.zone, data, "tcp")  # type: ignore[attr-defined]
        if reply is None:
            time.sleep(QUERY_TIMEOUT * 2)  # hold the connection open past the client's timeout
            return
        self.request.sendall(struct.pack("!H", len(reply)) + reply)


class _Udp(socketserver.ThreadingMixIn, socketserver.UDPServer):
    daemon_threads = True


class _Tcp(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _servers(zone: FaultyZone) -> tuple[_Udp, _Tcp]:
    """Bind UDP and TCP on one free 127.0.0.1 port; retry when TCP finds it taken."""
    for _ in range(20):
        udp = _Udp(("127.0.0.1", 0), _UdpHandler)
        port = udp.server_address[1]
        try:
            tcp = _Tcp(("127.0.0.1", port), _TcpHandler)
        except OSError:
            udp.server_close()
            continue
        udp.zone = tcp.zone = zone  # type: ignore[attr-defined]
        return udp, tcp
    raise RuntimeError("no free port on 127.0.0.1 for both UDP and TCP")


def build_zone() -> FaultyZone:
    zone = FaultyZone()
    for name in ("timeout", "servfail", "refused", "garbage"):
        zone.faults[f"{name}.faults.example"] = name
    zone.faults["tc.faults.example"] = "truncate-udp"
    zone.faults["tc-hang.faults.example"] = "truncate-udp-tcp-timeout"

    # A good key and SPF record behind an always-truncated UDP answer.
    zone.add("sel._domainkey.tc.faults.example", "TXT", f'"{GOOD_KEY}"')
    zone.add("tc.faults.example", "TXT", f'"v=spf1 ip4:{CLIENT_IP} -all"')
    zone.add("sel._domainkey.tc-hang.faults.example", "TXT", f'"{GOOD_KEY}"')

    # A 30,000-byte TXT record: too big for UDP, and not a usable key.
    huge = " ".join(f'"{"A" * 250}"' for _ in range(120))
    zone.add("sel._domainkey.huge.faults.example", "TXT", f'"v=DKIM1; k=ed25519; p=" {huge}')
    zone.add("huge.faults.example", "TXT", f'"v=spf1 " {huge}')

    # A good key cut into one-byte strings, and 60 TXT records at one name.
    zone.add("sel._domainkey.split.faults.example", "TXT", " ".join(f'"{char}"' for char in GOOD_KEY))
    zone.add("split.faults.example", "TXT", " ".join(f'"{char}"' for char in f"v=spf1 ip4:{CLIENT_IP} -all"))
    zone.add("many.faults.example", "TXT", *[f'"v=spf1 ip4:198.51.100.{index} -all"' for index in range(60)])
    zone.add("sel._domainkey.many.faults.example", "TXT", *[f'"record {index}"' for index in range(60)])

    # CNAME chains: a short one that ends in a good key, a long one, and a loop.
    zone.add("sel._domainkey.short.faults.example", "CNAME", "key.short.faults.example")
    zone.add("key.short.faults.example", "TXT", f'"{GOOD_KEY}"')
    for index in range(30):
        zone.add(f"c{index}.chain.faults.example", "CNAME", f"c{index + 1}.chain.faults.example")
    zone.add("c30.chain.faults.example", "TXT", f'"{GOOD_KEY}"')
    zone.add("sel._domainkey.chain.faults.example", "CNAME", "c0.chain.faults.example")
    zone.add("chain.faults.example", "CNAME", "c0.chain.faults.example")
    zone.add("sel._domainkey.loop.faults.example", "CNAME", "a.loop.faults.example")
    zone.add("a.loop.faults.example", "CNAME", "b.loop.faults.example")
    zone.add("b.loop.faults.example", "CNAME", "a.loop.faults.example")
    zone.add("loop.faults.example", "CNAME", "a.loop.faults.example")
    return zone


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    udp, tcp = _servers(build_zone())
    threads = [threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
               for server in (udp, tcp)]
    for thread in threads:
        thread.start()
    yield udp.server_address[1]
    for server in (udp, tcp):
        server.shutdown()
        server.server_close()


def resolver(port: int) -> LiveResolver:
    return LiveResolver(["127.0.0.1"], port, QUERY_TIMEOUT)


# LiveResolver on its own

RESOLVER_CASES = [
    ("timeout.faults.example", "TXT", DnsStatus.TIMEOUT),
    ("servfail.faults.example", "TXT", DnsStatus.SERVFAIL),
    ("refused.faults.example", "TXT", DnsStatus.SERVFAIL),
    ("garbage.faults.example", "TXT", DnsStatus.TIMEOUT),
    ("sel._domainkey.tc.faults.example", "TXT", DnsStatus.OK),
    ("sel._domainkey.tc-hang.faults.example", "TXT", DnsStatus.TIMEOUT),
    ("sel._domainkey.huge.faults.example", "TXT", DnsStatus.OK),
    ("sel._domainkey.split.faults.example", "TXT", DnsStatus.OK),
    ("many.faults.example", "TXT", DnsStatus.OK),
    ("sel._domainkey.short.faults.example", "TXT", DnsStatus.OK),
    ("sel._domainkey.chain.faults.example", "TXT", DnsStatus.SERVFAIL),
    ("sel._domainkey.loop.faults.example", "TXT", DnsStatus.SERVFAIL),
    ("absent.faults.example", "TXT", DnsStatus.NXDOMAIN),
]


@pytest.mark.parametrize(("name", "rdtype", "expected"), RESOLVER_CASES, ids=[case[0] for case in RESOLVER_CASES])
def test_live_resolver_fault(port: int, name: str, rdtype: str, expected: DnsStatus) -> None:
    started = time.monotonic()
    answer = resolver(port).query(name, rdtype)
    elapsed = time.monotonic() - started

    assert answer.status is expected
    assert elapsed < QUERY_TIMEOUT + 0.5


def test_truncated_answer_retried_over_tcp(port: int) -> None:
    answer = resolver(port).query("sel._domainkey.tc.faults.example", "TXT")
    assert answer.records == (GOOD_KEY,)


def test_oversized_txt_kept_whole(port: int) -> None:
    answer = resolver(port).query("sel._domainkey.huge.faults.example", "TXT")
    assert len(answer.records) == 1
    assert len(answer.records[0]) == len("v=DKIM1; k=ed25519; p=") + 120 * 250


def test_split_txt_strings_joined(port: int) -> None:
    answer = resolver(port).query("sel._domainkey.split.faults.example", "TXT")
    assert answer.records == (GOOD_KEY,)


def test_many_txt_records_all_returned(port: int) -> None:
    answer = resolver(port).query("many.faults.example", "TXT")
    assert len(answer.records) == 60


# Through verify()


def signed_message(domain: str, author_domain: str | None = None) -> bytes:
    """Return a message signed with ed25519 by d=``domain`` s=sel."""
    author = author_domain or domain
    message = (f"From: Sender <news@{author}>\r\nTo: doctor@hospital.example\r\n"
               f"Subject: Fault test\r\nDate: Thu, 10 Dec 2026 09:00:00 +0000\r\n"
               f"Message-ID: <fault@{author}>\r\n\r\nHello.\r\n").encode()
    seed = base64.b64encode(bytes(SIGNING_KEY)[:32])
    signature = dkim.sign(message, b"sel", domain.encode(), seed, signature_algorithm=b"ed25519-sha256",
                          include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return bytes(signature) + message


def timed_verify(port: int, message: bytes, mail_from: str | None = None) -> tuple[object, float]:
    verifier = Verifier(default_allowlist(), resolver(port), Settings(dns_budget_seconds=BUDGET))
    envelope = Envelope(CLIENT_IP, "mta.faults.example", mail_from) if mail_from else Envelope()
    started = time.monotonic()
    result = verifier.verify(message, envelope, NOW)
    return result, time.monotonic() - started


DKIM_CASES = [
    ("timeout", Status.TEMPERROR),
    ("servfail", Status.TEMPERROR),
    ("refused", Status.TEMPERROR),
    ("garbage", Status.TEMPERROR),
    ("tc-hang", Status.TEMPERROR),
    ("huge", Status.PERMERROR),
    ("many", Status.PERMERROR),
    ("chain", Status.TEMPERROR),
    ("loop", Status.TEMPERROR),
    ("tc", Status.PASS),
    ("split", Status.PASS),
    ("short", Status.PASS),
]


@pytest.mark.parametrize(("scenario", "expected"), DKIM_CASES, ids=[case[0] for case in DKIM_CASES])
def test_dkim_key_fault(port: int, scenario: str, expected: Status) -> None:
    domain = f"{scenario}.faults.example"
    result, elapsed = timed_verify(port, signed_message(domain))

    assert len(result.dkim) == 1  # type: ignore[attr-defined]
    assert result.dkim[0].status is expected  # type: ignore[attr-defined]
    assert elapsed < BUDGET + SLACK


SPF_CASES = [
    ("timeout", Status.TEMPERROR),
    ("servfail", Status.TEMPERROR),
    ("refused", Status.TEMPERROR),
    ("tc-hang", Status.TEMPERROR),
    ("huge", Status.PERMERROR),
    ("many", Status.PERMERROR),
    ("chain", Status.TEMPERROR),
    ("loop", Status.TEMPERROR),
    ("tc", Status.PASS),
    ("split", Status.PASS),
]


@pytest.mark.parametrize(("scenario", "expected"), SPF_CASES, ids=[case[0] for case in SPF_CASES])
def test_spf_record_fault(port: int, scenario: str, expected: Status) -> None:
    message = b"From: a@hospital.example\r\nSubject: x\r\n\r\nbody\r\n"
    result, elapsed = timed_verify(port, message, mail_from=f"bounce@{scenario}.faults.example")

    assert result.spf.status is expected  # type: ignore[attr-defined]
    assert elapsed < BUDGET + SLACK


@pytest.mark.parametrize("scenario", ["timeout", "servfail", "tc-hang"])
def test_dmarc_policy_fault(port: int, scenario: str) -> None:
    message = f"From: a@{scenario}.faults.example\r\nSubject: x\r\n\r\nbody\r\n".encode()
    result, elapsed = timed_verify(port, message)

    assert result.dmarc.status is Status.TEMPERROR  # type: ignore[attr-defined]
    assert elapsed < BUDGET + SLACK


def test_entity_claim_under_faults_not_passed(port: int) -> None:
    message = signed_message("timeout.faults.example", author_domain="medicalprotection.org")
    result, elapsed = timed_verify(port, message, mail_from="bounce@timeout.faults.example")

    assert result.verdict.value not in ("authentic", "partner")  # type: ignore[attr-defined]
    assert elapsed < BUDGET + SLACK


def test_public_verify_with_live_resolver(port: int) -> None:
    message = signed_message("servfail.faults.example")
    result = verify(message, client_ip=CLIENT_IP, mail_from="bounce@servfail.faults.example",
                    resolver=resolver(port), now=NOW)

    assert result.dkim[0].status is Status.TEMPERROR
    assert result.spf.status is Status.TEMPERROR
    assert "dkim.temperror" in result.codes()


def test_all_timeouts_stay_within_budget(port: int) -> None:
    # Every lookup times out: the message budget, not the number of lookups,
    # bounds the time spent.
    message = signed_message("timeout.faults.example")
    verifier = Verifier(default_allowlist(), resolver(port), Settings(dns_budget_seconds=1.0))
    started = time.monotonic()
    result = verifier.verify(message, Envelope(CLIENT_IP, "mta.timeout.faults.example",
                                               "bounce@timeout.faults.example"), NOW)
    elapsed = time.monotonic() - started

    assert result.spf.status is Status.TEMPERROR
    assert result.dkim[0].status is Status.TEMPERROR
    assert result.dmarc.status is Status.TEMPERROR
    assert elapsed < 1.0 + SLACK


def test_budget_not_overrun_by_last_query(port: int) -> None:
    # The first lookup times out before the deadline and the second starts
    # before it, so without a cap on the last query the total is about twice
    # the query timeout.
    budget = QUERY_TIMEOUT * 1.5
    verifier = Verifier(default_allowlist(), resolver(port), Settings(dns_budget_seconds=budget))
    started = time.monotonic()
    verifier.verify(signed_message("timeout.faults.example"), Envelope(CLIENT_IP, "mta.timeout.faults.example",
                                                                    "bounce@timeout.faults.example"), NOW)
    elapsed = time.monotonic() - started

    assert elapsed < budget + 0.15


def test_responder_answers_plain_query(port: int) -> None:
    # Guards the fixture: a fault test passing only because nothing answers.
    query = dns.message.make_query("sel._domainkey.short.faults.example", "TXT")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(query.to_wire(), ("127.0.0.1", port))
        reply = dns.message.from_wire(sock.recv(65535))
    assert reply.rcode() == dns.rcode.NOERROR
    assert len(reply.answer) == 2
