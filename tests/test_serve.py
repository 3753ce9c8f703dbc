"""The HTTP/JSON service: a real server on loopback, called with urllib and http.client."""

from __future__ import annotations

import http.client
import json
import logging
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mpsverify import __version__
from mpsverify.cli import build_parser, make_verifier
from mpsverify.resolver import DnsAnswer, SnapshotResolver
from mpsverify.serve import CheckServer, make_server
from mpsverify.verify import Verifier

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLES = PROJECT / "examples"
SNAPSHOT = EXAMPLES / "newsletter" / "dns.yaml"
NEWSLETTER = (EXAMPLES / "newsletter" / "message.eml").read_bytes()
SPOOFED = (EXAMPLES / "spoofed" / "message.eml").read_bytes()
NEWSLETTER_ENVELOPE = {"client_ip": "192.0.2.10", "helo": "mta1.medicalprotection.org",
                       "mail_from": "bounce@medicalprotection.org", "now": "2026-12-10T10:00:00Z"}
SPOOFED_ENVELOPE = {"client_ip": "198.51.100.200", "mail_from": "news@medicalprotection.org"}
#: Small enough that the oversize tests send little data, large enough for the examples.
MAX_BYTES = 64 * 1024
TIMEOUT = 30


def start(template: Verifier) -> CheckServer:
    server = make_server(template, "127.0.0.1", 0, MAX_BYTES)
    threading.Thread(target=server.serve_forever, name="test-serve", daemon=True).start()
    return server


def stop(server: CheckServer) -> None:
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[CheckServer]:
    args = build_parser().parse_args(["serve", "--dns-snapshot", str(SNAPSHOT)])
    running = start(make_verifier(args))
    yield running
    stop(running)


def check_url(server: CheckServer, envelope: dict[str, str] | None = None) -> str:
    query = urllib.parse.urlencode(envelope or {})
    return f"{server.url}/v1/check" + (f"?{query}" if query else "")


def call(url: str, body: bytes | None = None, method: str | None = None,
         content_type: str = "message/rfc822") -> tuple[int, dict[str, Any], dict[str, str]]:
    """Send one request; return the status, the decoded JSON body and the response header fields."""
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read()), dict(error.headers)


def raw_exchange(server: CheckServer, request: bytes) -> bytes:
    """Send bytes as they are and return everything the server writes back."""
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=TIMEOUT) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def split_response(raw: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


# -- successful checks ------------------------------------------------------------


def test_health_reports_version(server: CheckServer) -> None:
    status, payload, headers = call(f"{server.url}/v1/health")
    assert status == 200
    assert payload == {"status": "ok", "version": __version__}
    assert headers["Content-Type"] == "application/json; charset=utf-8"


def test_newsletter_is_authentic(server: CheckServer) -> None:
    status, payload, _ = call(check_url(server, NEWSLETTER_ENVELOPE), NEWSLETTER)
    assert status == 200
    assert payload["verdict"] == "authentic"
    assert payload["entity"] == "Medical Protection Society"
    assert payload["spf"]["status"] == "pass"
    assert payload["dmarc"]["status"] == "pass"


def test_spoofed_is_spoofed(server: CheckServer) -> None:
    status, payload, _ = call(check_url(server, SPOOFED_ENVELOPE), SPOOFED)
    assert status == 200
    assert payload["verdict"] == "spoofed"
    assert payload["spf"]["status"] == "fail"


def test_octet_stream_is_accepted(server: CheckServer) -> None:
    status, payload, _ = call(check_url(server, SPOOFED_ENVELOPE), SPOOFED, content_type="application/octet-stream")
    assert status == 200
    assert payload["verdict"] == "spoofed"


def test_empty_mail_from_is_null_sender(server: CheckServer) -> None:
    envelope = {"client_ip": "192.0.2.10", "helo": "mta1.medicalprotection.org", "mail_from": ""}
    status, payload, _ = call(check_url(server, envelope), NEWSLETTER)
    assert status == 200
    assert payload["spf"]["scope"] == "helo"


def test_concurrent_checks_all_succeed(server: CheckServer) -> None:
    jobs = [(NEWSLETTER_ENVELOPE, NEWSLETTER, "authentic"), (SPOOFED_ENVELOPE, SPOOFED, "spoofed")] * 10

    def run(job: tuple[dict[str, str], bytes, str]) -> tuple[int, str, str]:
        envelope, message, expected = job
        status, payload, _ = call(check_url(server, envelope), message)
        return status, payload["verdict"], expected

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(run, jobs, timeout=120))
    assert len(outcomes) == 20
    assert all(status == 200 for status, _, _ in outcomes)
    assert all(verdict == expected for _, verdict, expected in outcomes)


def test_log_line_has_no_envelope(server: CheckServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="mpsverify.serve"):
        call(check_url(server, NEWSLETTER_ENVELOPE), NEWSLETTER)
    lines = [record.getMessage() for record in caplog.records if record.name == "mpsverify.serve"]
    assert any(re.fullmatch(r"POST /v1/check 200 authentic [0-9.]+ ms", line) for line in lines)
    assert not any("medicalprotection.org" in line for line in lines)


# -- rejected requests ------------------------------------------------------------


def test_empty_body_is_422(server: CheckServer) -> None:
    status, payload, _ = call(check_url(server), b"")
    assert status == 422
    assert payload["verdict"] == "unrelated"
    assert [reason["code"] for reason in payload["reasons"]] == ["message.not-email"]


def test_bad_client_ip_is_400(server: CheckServer) -> None:
    status, payload, _ = call(check_url(server, {"client_ip": "192.0.2.300"}), NEWSLETTER)
    assert status == 400
    assert payload["error"].startswith("client_ip '192.0.2.300' is not an IPv4 or IPv6 address")


@pytest.mark.parametrize(("query", "message"), [
    ("clientip=192.0.2.10", "unknown query parameter 'clientip'"),
    ("helo=a.example&helo=b.example", "query parameter 'helo' is given more than once"),
    ("now=yesterday", "now 'yesterday' is not an ISO 8601 time"),
    ("now=2026-12-10T10:00:00", "now '2026-12-10T10:00:00' has no UTC offset"),
    # An unencoded + in an offset arrives as a space.
    ("now=2026-12-10T10:00:00+01:00", "now '2026-12-10T10:00:00 01:00' is not an ISO 8601 time"),
    ("client_ip=", "client_ip '' is not an IPv4 or IPv6 address"),
    ("helo=%FF", "the query string is not valid UTF-8"),
])
def test_bad_query_is_400(server: CheckServer, query: str, message: str) -> None:
    status, payload, _ = call(f"{server.url}/v1/check?{query}", NEWSLETTER)
    assert status == 400
    assert payload["error"].startswith(message)


def test_wrong_content_type_is_415(server: CheckServer) -> None:
    status, payload, _ = call(check_url(server), NEWSLETTER, content_type="text/plain")
    assert status == 415
    assert "message/rfc822" in payload["error"]


def test_missing_content_length_is_411(server: CheckServer) -> None:
    raw = raw_exchange(server, b"POST /v1/check HTTP/1.1\r\nHost: test\r\nContent-Type: message/rfc822\r\n\r\n")
    status, payload = split_response(raw)
    assert status == 411
    assert "Content-Length" in payload["error"]


def test_chunked_body_is_411(server: CheckServer) -> None:
    raw = raw_exchange(server, b"POST /v1/check HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                               b"5\r\nFrom:\r\n0\r\n\r\n")
    status, payload = split_response(raw)
    assert status == 411
    assert "Transfer-Encoding" in payload["error"]


def test_oversize_length_is_413(server: CheckServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=TIMEOUT)
    connection.putrequest("POST", "/v1/check")
    connection.putheader("Content-Type", "message/rfc822")
    connection.putheader("Content-Length", str(MAX_BYTES + 1))
    connection.endheaders()
    response = connection.getresponse()
    payload = json.loads(response.read())
    connection.close()
    assert response.status == 413
    assert payload["error"] == f"the message is {MAX_BYTES + 1} bytes, and this service accepts at most {MAX_BYTES} bytes"


def test_oversize_with_expect_is_413_before_body(server: CheckServer) -> None:
    # The server must respond without a 100 Continue, so the client never uploads the body.
    request = (f"POST /v1/check HTTP/1.1\r\nHost: test\r\nContent-Type: message/rfc822\r\n"
               f"Content-Length: {MAX_BYTES + 1}\r\nExpect: 100-continue\r\n\r\n").encode()
    raw = raw_exchange(server, request)
    status, payload = split_response(raw)
    assert status == 413
    assert b"100 Continue" not in raw
    assert "at most" in payload["error"]


def test_small_body_with_expect_is_checked(server: CheckServer) -> None:
    host, port = server.server_address[:2]
    query = urllib.parse.urlencode(SPOOFED_ENVELOPE)
    head = (f"POST /v1/check?{query} HTTP/1.1\r\nHost: test\r\nContent-Type: message/rfc822\r\n"
            f"Content-Length: {len(SPOOFED)}\r\nExpect: 100-continue\r\n\r\n").encode()
    with socket.create_connection((str(host), int(port)), timeout=TIMEOUT) as connection:
        connection.sendall(head)
        interim = connection.recv(65536)
        connection.sendall(SPOOFED)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    status, payload = split_response(b"".join(chunks))
    assert status == 200
    assert payload["verdict"] == "spoofed"


def test_unknown_path_is_404(server: CheckServer) -> None:
    status, payload, _ = call(f"{server.url}/v1/verify", NEWSLETTER)
    assert status == 404
    assert "POST /v1/check" in payload["error"]


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("GET", "/v1/check", "POST"),
    ("PUT", "/v1/check", "POST"),
    ("POST", "/v1/health", "GET"),
    ("DELETE", "/v1/health", "GET"),
])
def test_wrong_method_is_405(server: CheckServer, method: str, path: str, allow: str) -> None:
    body = NEWSLETTER if method in ("POST", "PUT") else None
    status, payload, headers = call(f"{server.url}{path}", body, method=method)
    assert status == 405
    assert headers["Allow"] == allow
    assert payload["error"] == f"{path} does not accept {method}; use {allow}"


@pytest.mark.parametrize(("request_line", "status", "message"), [
    (b"GET /v1/health extra HTTP/1.1", 400, "Bad request syntax"),
    (b"BREW /v1/check HTTP/1.1", 501, "Unsupported method ('BREW')"),
])
def test_malformed_request_gets_json(server: CheckServer, request_line: bytes, status: int, message: str) -> None:
    raw = raw_exchange(server, request_line + b"\r\nHost: test\r\n\r\n")
    assert split_response(raw)[0] == status
    assert split_response(raw)[1]["error"].startswith(message)


def test_unparsable_version_gets_json_only(server: CheckServer) -> None:
    # http.server responds to a request line without a readable version as to HTTP/0.9, with a body and no head.
    raw = raw_exchange(server, b"NOT A REQUEST\r\n\r\n")
    assert json.loads(raw) == {"error": "Bad request version ('REQUEST')"}


class FailingResolver:
    def query(self, name: str, rdtype: str) -> DnsAnswer:
        raise RuntimeError("resolver bug for the test")


def test_internal_error_is_500_without_traceback(caplog: pytest.LogCaptureFixture) -> None:
    failing = start(Verifier(resolver=FailingResolver()))
    try:
        with caplog.at_level(logging.INFO, logger="mpsverify.serve"):
            status, payload, _ = call(check_url(failing, SPOOFED_ENVELOPE), SPOOFED)
    finally:
        stop(failing)
    assert status == 500
    assert payload == {"error": "the message could not be checked because of an internal error; "
                                "the service log has the details"}
    assert any(record.exc_info for record in caplog.records if record.name == "mpsverify.serve")


class SlowResolver:
    """Answers from the example snapshot after a pause, and reports when the first query arrives."""

    def __init__(self) -> None:
        self.inner = SnapshotResolver.from_file(SNAPSHOT)
        self.queried = threading.Event()

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        self.queried.set()
        time.sleep(0.05)
        return self.inner.query(name, rdtype)


def test_stop_lets_check_in_progress_finish(caplog: pytest.LogCaptureFixture) -> None:
    resolver = SlowResolver()
    slow = start(Verifier(resolver=resolver))
    with caplog.at_level(logging.INFO, logger="mpsverify.serve"), ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(call, check_url(slow, NEWSLETTER_ENVELOPE), NEWSLETTER)
        assert resolver.queried.wait(TIMEOUT)
        stop(slow)
        # server_close() returns only after the request thread has logged its response.
        logged = [record.getMessage() for record in caplog.records if record.name == "mpsverify.serve"]
        status, payload, _ = pending.result(timeout=TIMEOUT)
    assert any(line.startswith("POST /v1/check 200 authentic") for line in logged)
    assert status == 200
    assert payload["verdict"] == "authentic"


# -- the command ------------------------------------------------------------------


def test_command_serves_and_stops_on_sigterm() -> None:
    command = [sys.executable, "-m", "mpsverify", "serve", "--port", "0", "--dns-snapshot", str(SNAPSHOT)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", first)
        assert match, first
        with urllib.request.urlopen(match.group(1) + "/v1/health", timeout=TIMEOUT) as response:
            assert response.status == 200
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=TIMEOUT)
        rest = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=TIMEOUT)
    assert status == 0
    assert "GET /v1/health 200" in rest
    assert rest.rstrip().endswith("INFO mpsverify.serve: stopped")


def test_command_port_in_use_exits_71() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "mpsverify", "serve", "--port", str(port),
                               "--dns-snapshot", str(SNAPSHOT)], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 71
    assert done.stderr.startswith(f"mpsverify serve: cannot listen on 127.0.0.1 port {port}:")


def test_command_rejects_bad_port() -> None:
    done = subprocess.run([sys.executable, "-m", "mpsverify", "serve", "--port", "70000"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 64
    assert "'70000' is not a TCP port number" in done.stderr
