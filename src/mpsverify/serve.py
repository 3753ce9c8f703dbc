"""``mpsverify serve``: an HTTP/JSON service that checks messages for a webmail plugin.

``POST /v1/check`` takes one raw RFC 5322 message as the request body and the
SMTP envelope as query parameters, and returns the :class:`Verification` as
JSON. ``GET /v1/health`` reports that the service is running. docs/http-api.md
describes the interface for callers.

The service has no authentication. It binds to 127.0.0.1 by default and must
be reachable only by the webmail server that calls it.

Threading: :class:`ThreadingHTTPServer` handles each connection in its own
thread, and each request builds its own :class:`Verifier` around the allowlist,
resolver and settings loaded at start-up. The constructor only stores its
arguments, so this costs nothing, and it keeps the verifier's DNS cache, which
ignores TTLs and is never trimmed, to the lifetime of one message. The objects
the threads share are safe to share:

- :class:`Settings` is frozen, and the allowlist is not changed after loading.
  Indexes derived from it are built on first use, so two threads may both
  build one; the results are equal and one is kept.
- :class:`BudgetedResolver` is created per message and never shared.
- ``LiveResolver`` calls dnspython's ``Resolver.resolve``, which does not change
  the resolver object (checked in dnspython 2.9.2).
- ``SnapshotResolver`` appends every query to its ``queries`` list. A list
  append is atomic under the GIL, but the list grows for as long as the
  service runs, so use a snapshot only for tests and demonstrations.
- The lookalike index in :mod:`mpsverify.content.lookalike` reads its caches
  with one ``dict.get``, so a thread that clears a cache cannot make another
  thread's lookup fail.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import signal
import socket
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

from . import __version__
from .spf import Envelope
from .verify import Verifier

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8025
#: Largest request body accepted, in bytes (--max-bytes).
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
#: Seconds one socket read or write may wait before the connection is dropped.
SOCKET_TIMEOUT_SECONDS = 60.0
#: sysexits.h EX_OSERR: the listening socket could not be opened.
EX_OSERR = 71

CHECK_PATH = "/v1/check"
HEALTH_PATH = "/v1/health"
#: Media types accepted for the message; a request without Content-Type is accepted too.
MESSAGE_MEDIA_TYPES = frozenset({"message/rfc822", "application/octet-stream"})
ENVELOPE_PARAMETERS = ("client_ip", "helo", "mail_from", "now")


def add_serve_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` command to ``commands``."""
    from .cli import add_source_options

    parser = commands.add_parser(
        "serve", help="run an HTTP/JSON service that checks messages",
        description="Serve POST /v1/check and GET /v1/health over HTTP, for a webmail plugin. The service "
                    "has no authentication: keep it on loopback, reachable only by the webmail server. "
                    "SIGTERM or SIGINT stops it after the requests in progress.")
    add_source_options(parser)
    parser.add_argument("--host", default=DEFAULT_HOST, metavar="ADDRESS",
                        help=f"IP address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help=f"TCP port to listen on; 0 picks a free port (default {DEFAULT_PORT})")
    parser.add_argument("--max-bytes", type=_positive_int, default=DEFAULT_MAX_BYTES, metavar="BYTES",
                        help=f"largest message accepted, in bytes; larger requests get status 413 "
                             f"(default {DEFAULT_MAX_BYTES}, which is 32 MiB)")
    parser.set_defaults(handler=run_serve)


def _port(value: str) -> int:
    if not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a TCP port number from 0 to 65535")
    return int(value)


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number greater than 0")
    return int(value)


def run_serve(args: argparse.Namespace) -> int:
    """Run ``mpsverify serve`` until SIGTERM or SIGINT; return the exit status."""
    from .cli import make_verifier

    # Request lines are logged at INFO, which the command's default WARNING level hides.
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    template = make_verifier(args)
    try:
        server = make_server(template, args.host, args.port, args.max_bytes)
    except OSError as error:
        print(f"mpsverify serve: cannot listen on {args.host} port {args.port}: {error.strerror or error}",
              file=sys.stderr)
        return EX_OSERR
    previous_handlers = _stop_on_signals(server)
    try:
        logger.info("listening on %s (mpsverify %s)", server.url, __version__)
        server.serve_forever()
    finally:
        server.server_close()
        for number, handler in previous_handlers.items():
            signal.signal(number, handler)
    logger.info("stopped")
    return 0


def _stop_on_signals(server: CheckServer) -> dict[int, Any]:
    """Make SIGTERM and SIGINT stop ``server``; return the handlers they replaced."""

    def request_stop(number: int, _frame: FrameType | None) -> None:
        logger.info("received %s; stopping after the requests in progress", signal.Signals(number).name)
        # shutdown() waits for serve_forever() to return, and serve_forever() runs in
        # this thread, so calling it here directly would never return.
        threading.Thread(target=server.shutdown, name="mpsverify-serve-stop", daemon=True).start()

    return {number: signal.signal(number, request_stop) for number in (signal.SIGTERM, signal.SIGINT)}


class CheckServer(ThreadingHTTPServer):
    """An HTTP server that checks messages with copies of one template verifier."""

    # Wait for request threads in server_close(), so that a stop lets checks in
    # progress finish and send their responses.
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], template: Verifier, max_bytes: int) -> None:
        self.template = template
        self.max_bytes = max_bytes
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, CheckHandler)

    @property
    def url(self) -> str:
        """Base URL of the listening socket, such as http://127.0.0.1:8025."""
        host = str(self.socket.getsockname()[0])
        display_host = f"[{host}]" if ":" in host else host
        return f"http://{display_host}:{self.server_port}"

    def new_verifier(self) -> Verifier:
        """Return a verifier for one request, sharing the template's allowlist, resolver and settings."""
        return Verifier(self.template.allowlist, self.template.resolver, self.template.settings)


def make_server(template: Verifier, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                max_bytes: int = DEFAULT_MAX_BYTES) -> CheckServer:
    """Bind a :class:`CheckServer` to ``host`` and ``port``; raises OSError when binding fails.

    Call ``serve_forever()`` on the result to handle requests, and ``shutdown()``
    from another thread followed by ``server_close()`` to stop it.
    """
    return CheckServer((host, port), template, max_bytes)


class RequestError(Exception):
    """Rejection of a request, with the HTTP status and a message for the caller."""

    def __init__(self, status: HTTPStatus, message: str, allow: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        #: Value of the Allow header for status 405.
        self.allow = allow


@dataclass(frozen=True)
class CheckRequest:
    """The parts of a POST /v1/check request that are known before its body is read."""

    envelope: Envelope
    now: datetime | None
    content_length: int


def parse_envelope(query: str) -> tuple[Envelope, datetime | None]:
    """Parse the query string of POST /v1/check; raises RequestError (400) for a bad parameter."""
    try:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise RequestError(HTTPStatus.BAD_REQUEST,
                           "the query string is not valid UTF-8 after percent-decoding") from None
    values: dict[str, str] = {}
    for name, value in pairs:
        if name not in ENVELOPE_PARAMETERS:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"unknown query parameter {name!r}; "
                               f"the parameters are {', '.join(ENVELOPE_PARAMETERS)}")
        if name in values:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"query parameter {name!r} is given more than once; "
                               "give it at most once")
        values[name] = value
    client_ip = values.get("client_ip")
    if client_ip is not None:
        _check_ip(client_ip)
    now = _parse_now(values["now"]) if "now" in values else None
    return Envelope(client_ip, values.get("helo"), values.get("mail_from")), now


def _check_ip(value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"client_ip {value!r} is not an IPv4 or IPv6 address; "
                           "give the address of the server that sent the message, or leave client_ip out") from None


def _parse_now(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"now {value!r} is not an ISO 8601 time such as "
                           "2026-12-10T10:00:00Z (write + in an offset as %2B)") from None
    if moment.tzinfo is None:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"now {value!r} has no UTC offset; "
                           "add Z or an offset such as %2B01:00")
    return moment


#: Name of the CheckHandler method for each path and HTTP method.
_ROUTES = {
    CHECK_PATH: {"POST": "_check"},
    HEALTH_PATH: {"GET": "_health"},
}


class CheckHandler(BaseHTTPRequestHandler):
    """Handles one request: routes it, checks the message and writes a JSON response."""

    server: CheckServer
    server_version = f"mpsverify/{__version__}"
    # HTTP/1.1 lets a client send "Expect: 100-continue" and learn of a 411 or 413
    # before it uploads the body. Every response still closes the connection, so no
    # idle keep-alive connection occupies a thread.
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT_SECONDS

    _started = 0.0
    _verdict = "-"
    _body_handled = False

    # -- request flow ----------------------------------------------------------

    def parse_request(self) -> bool:
        self._started = time.perf_counter()
        return super().parse_request()

    def handle_expect_100(self) -> bool:
        # Reject before the body is sent, when the request line and header already show a problem.
        try:
            if self._route() == "_check":
                self._check_request()
        except RequestError as error:
            # The client waits for this response before it sends the body, so there is none to read.
            self._body_handled = True
            self._send_request_error(error)
            return False
        return super().handle_expect_100()

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            getattr(self, self._route())()
        except RequestError as error:
            self._send_request_error(error)
        except Exception:  # noqa: BLE001 - the service boundary: log the bug, answer 500, keep serving
            logger.exception("%s %s failed", self.command, self._path_for_log())
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR,
                            {"error": "the message could not be checked because of an internal error; "
                                      "the service log has the details"})

    def _route(self) -> str:
        """Return the name of the handler method for this request; raises RequestError for 404 and 405."""
        path = urllib.parse.urlsplit(self.path).path
        methods = _ROUTES.get(path)
        if methods is None:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no endpoint at {path!r}; "
                               f"the endpoints are POST {CHECK_PATH} and GET {HEALTH_PATH}")
        handler = methods.get(self.command)
        if handler is None:
            allowed = ", ".join(methods)
            raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED, f"{path} does not accept {self.command}; "
                               f"use {allowed}", allow=allowed)
        return handler

    # -- endpoints -------------------------------------------------------------

    def _health(self) -> None:
        self._send_json(HTTPStatus.OK, {"status": "ok", "version": __version__})

    def _check(self) -> None:
        request = self._check_request()
        body = self._read_body(request.content_length)
        result = self.server.new_verifier().verify(body, request.envelope, request.now)
        self._verdict = result.verdict.value
        # A body without header fields gets its result with status 422, so that a
        # caller who sent the wrong data notices without reading reason codes.
        not_email = "message.not-email" in result.codes()
        self._send_json(HTTPStatus.UNPROCESSABLE_ENTITY if not_email else HTTPStatus.OK, result.to_dict())

    def _check_request(self) -> CheckRequest:
        """Parse and check the query string and header fields of POST /v1/check."""
        envelope, now = parse_envelope(urllib.parse.urlsplit(self.path).query)
        self._check_content_type()
        return CheckRequest(envelope, now, self._content_length())

    def _check_content_type(self) -> None:
        value = self.headers.get("Content-Type")
        if value is None:
            return
        media_type = value.partition(";")[0].strip().lower()
        if media_type not in MESSAGE_MEDIA_TYPES:
            raise RequestError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Type {value!r} is not accepted; "
                               "send the raw message as message/rfc822 or application/octet-stream")

    def _content_length(self) -> int:
        if self.headers.get("Transfer-Encoding") is not None:
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "Transfer-Encoding is not supported; "
                               "send the message with a Content-Length header instead")
        values = self.headers.get_all("Content-Length") or []
        if not values:
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "the Content-Length header is missing; "
                               "send the size of the message in bytes")
        if len(values) > 1:
            raise RequestError(HTTPStatus.BAD_REQUEST, "the Content-Length header is given more than once")
        text = values[0].strip()
        if not text.isascii() or not text.isdigit():
            raise RequestError(HTTPStatus.BAD_REQUEST, f"Content-Length {text!r} is not a whole number of bytes")
        length = int(text)
        if length > self.server.max_bytes:
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"the message is {length} bytes, and this service accepts at most "
                               f"{self.server.max_bytes} bytes")
        return length

    def _read_body(self, length: int) -> bytes:
        self._body_handled = True
        body = self.rfile.read(length)
        if len(body) < length:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"the body ended after {len(body)} of the "
                               f"{length} bytes that Content-Length announced")
        return body

    # -- responses -------------------------------------------------------------

    def _send_request_error(self, error: RequestError) -> None:
        self._discard_body()
        headers = {"Allow": error.allow} if error.allow else {}
        self._send_json(error.status, {"error": error.message}, headers, error.message)

    def _discard_body(self) -> None:
        """Read an unread body that is within the size limit before an error response.

        Closing a socket with unread data makes the kernel reset the connection,
        and the client may then lose the response. A body that is too large or of
        unknown size is left unread, so its client may see a reset instead of 411
        or 413 unless it sent "Expect: 100-continue".
        """
        if self._body_handled:
            return
        self._body_handled = True
        text = (self.headers.get("Content-Length") or "").strip()
        if self.headers.get("Transfer-Encoding") is not None or not text.isascii() or not text.isdigit():
            return
        length = int(text)
        if length <= self.server.max_bytes:
            try:
                self.rfile.read(length)
            except OSError as error:
                logger.debug("failed to read the body of a rejected request: %s", error)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Write ``code`` with a JSON error body; http.server calls this for malformed requests."""
        status = HTTPStatus(code)
        text = message or status.phrase
        self._send_json(status, {"error": text}, log_detail=text)

    def _send_json(self, status: HTTPStatus, payload: dict[str, Any], headers: dict[str, str] | None = None,
                   log_detail: str = "") -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        # Logged before the body is written, so the line exists once the client has the response.
        self._log_response(status, log_detail)
        try:
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError as error:
            logger.info("%s %s: the client closed the connection before the response was sent: %s",
                        self.command or "-", self._path_for_log(), error)

    # -- logging ---------------------------------------------------------------

    def _log_response(self, status: HTTPStatus, detail: str) -> None:
        elapsed_ms = (time.perf_counter() - self._started) * 1000 if self._started else 0.0
        line = "%s %s %d %s %.1f ms"
        fields: tuple[object, ...] = (self.command or "-", self._path_for_log(), status, self._verdict, elapsed_ms)
        if detail:
            line += ": %s"
            fields += (detail,)
        logger.info(line, *fields)

    def _path_for_log(self) -> str:
        # Only the path, because the query string contains the MAIL FROM address.
        path = urllib.parse.urlsplit(getattr(self, "path", "") or "-").path
        return ascii(path)[1:-1][:200]

    def version_string(self) -> str:
        """Return the Server header value, without the Python version http.server adds."""
        return self.server_version

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Do nothing: :meth:`_log_response` writes one line per request instead."""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s: " + format, self.client_address[0], *args)
