"""``mpsverify milter``: a milter that adds the verdict to each message during SMTP.

Postfix (``smtpd_milters``) and Sendmail (``INPUT_MAIL_FILTER``) pass each SMTP
session to a milter over a socket: the client address, the HELO name, MAIL
FROM, the header fields and the body. At the end of the message this milter
rebuilds the raw message and checks it with one
:class:`~mpsverify.verify.Verifier` and the real SMTP envelope. It then deletes
the ``X-MPS-Verdict`` fields, and the ``Authentication-Results`` fields with its
own authserv-id, that arrived with the message (RFC 8601 section 5), and
inserts fresh ones at the top. With
``--reject`` it instead rejects spoofed and impersonation mail with
``550 5.7.1``.

The milter never loses mail because of itself. A message larger than
``--max-bytes`` is accepted unchecked, and so is a message whose check raised
an exception, which is logged with its traceback. Both get
``X-MPS-Verdict: unchecked`` instead of a verdict. docs/milter.md describes the
set-up for each MTA.

pymilter, which wraps Sendmail's libmilter, is an optional dependency: this
module imports it only when the milter starts, so the rest of the command works
without it. The collecting and deciding code here does not use pymilter, which
lets tests run it without an MTA.

Threading: libmilter runs each SMTP connection in its own thread, and all of
them share one Verifier. Its DNS answer cache reads and writes a dict with
single ``get`` and item assignments, which are atomic under the GIL. The other
shared objects are safe for the reasons given in :mod:`mpsverify.serve`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any

from .headers import (AUTHRES_FIELD, VERDICT_FIELD, HeaderField, authentication_results_field,
                      check_authserv_id, clean_text, fold, quote, remove_fields, verdict_field)
from .results import Verdict, Verification
from .spf import Envelope
from .verify import Verifier

logger = logging.getLogger(__name__)

#: Name the milter registers with libmilter; Sendmail's INPUT_MAIL_FILTER uses it.
MILTER_NAME = "mpsverify"
#: Largest message checked, in bytes, counting header fields and body as
#: rebuilt with CRLF line endings (--max-bytes).
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
#: sysexits.h EX_UNAVAILABLE: pymilter is not installed.
EX_UNAVAILABLE = 69
#: sysexits.h EX_OSERR: libmilter could not open the socket or start.
EX_OSERR = 71
#: The X-MPS-Verdict value for a message that was passed on without a check.
UNCHECKED = "unchecked"

_REJECTED = frozenset({Verdict.SPOOFED, Verdict.IMPERSONATION})
_SOCKET = re.compile(r"^(?:inet6?:\d{1,5}(?:@\S+)?|(?:unix|local):/\S+)$")


@dataclass(frozen=True)
class MilterSettings:
    """Per-message settings of the milter, from the command line."""

    #: The authserv-id written in Authentication-Results, already checked.
    authserv_id: str
    #: Reject spoofed and impersonation mail instead of marking it.
    reject: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    #: Judge signature times as of this moment; None means the time of each check.
    now: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """The action for one message at its end: header changes, or a rejection."""

    #: (name, index) of received fields to delete, index counted from 1 among the
    #: fields of that name, highest index first so that a deletion never moves
    #: a field that is still to be deleted.
    deletions: tuple[tuple[str, int], ...]
    #: Fields to insert at the top of the header, in order from the top.
    additions: tuple[HeaderField, ...]
    #: The text of a 550 5.7.1 reply, or None to accept the message.
    rejection: str | None = None
    #: The verdict value for the log line, or "unchecked".
    verdict: str = UNCHECKED


@dataclass
class MessageCollector:
    """The envelope, header fields and body of the message in progress on one SMTP connection.

    The collector keeps at most ``max_bytes`` of the message. Past that it drops
    the fields and body collected so far and only counts fields, because the
    deletions at the end need the index of every received field of our names.
    """

    authserv_id: str
    max_bytes: int = DEFAULT_MAX_BYTES
    client_ip: str | None = None
    helo: str | None = None
    #: The MAIL FROM address without angle brackets; "" is the null sender.
    mail_from: str | None = None
    fields: list[tuple[str, bytes]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)
    size: int = 0
    too_large: bool = False
    deletions: list[tuple[str, int]] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict)

    def start_message(self, mail_from: str) -> None:
        """Forget the previous message on this connection and record the MAIL FROM of a new one."""
        self.reset_message()
        self.mail_from = parse_mail_from(mail_from)

    def reset_message(self) -> None:
        """Forget the message in progress, keeping the client address and HELO name."""
        self.mail_from = None
        self.fields = []
        self.body = []
        self.size = 0
        self.too_large = False
        self.deletions = []
        self._counts = {}

    def add_field(self, name: str, value: bytes) -> None:
        """Record one header field: ``value`` is everything after the colon, leading white space included."""
        key = name.lower()
        index = self._counts.get(key, 0) + 1
        self._counts[key] = index
        if is_own_field(name, value, self.authserv_id):
            self.deletions.append((name, index))
        self._store(len(name) + len(value) + 3)
        if not self.too_large:
            self.fields.append((name, value))

    def add_body(self, chunk: bytes) -> None:
        """Record one chunk of the body."""
        self._store(len(chunk))
        if not self.too_large:
            self.body.append(chunk)

    def _store(self, length: int) -> None:
        self.size += length
        if not self.too_large and self.size > self.max_bytes:
            self.too_large = True
            self.fields = []
            self.body = []

    def message(self) -> bytes:
        """Return the raw message as received, with CRLF line endings."""
        return assemble_message(self.fields, b"".join(self.body))

    def envelope(self) -> Envelope:
        """Return the SMTP envelope of the message in progress."""
        return Envelope(self.client_ip, self.helo, self.mail_from)


def parse_mail_from(argument: str) -> str:
    """Return the address in a MAIL FROM argument such as "<a@example.org>"; "<>" becomes ""."""
    address = argument.strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1]
    return address.strip()


def client_ip_of(hostaddr: object) -> str | None:
    """Return the IP address in libmilter's ``hostaddr``: an (ip, port, ...) tuple for inet sockets.

    A Unix-socket client (a path string) and an unknown client (None) have no IP address.
    """
    if isinstance(hostaddr, tuple) and hostaddr and isinstance(hostaddr[0], str):
        return hostaddr[0]
    return None


def is_own_field(name: str, value: bytes, authserv_id: str) -> bool:
    """Return True for a received field that the milter must delete before adding its own.

    Those are every X-MPS-Verdict field and the Authentication-Results fields that
    carry this milter's authserv-id; the test is the one the pipe filter applies.
    """
    lowered = name.lower()
    if lowered == VERDICT_FIELD.lower():
        return True
    if lowered != AUTHRES_FIELD.lower():
        return False
    single_field = name.encode("ascii", "replace") + b":" + value + b"\r\n\r\n"
    return remove_fields(single_field, AUTHRES_FIELD, authserv_id) == b"\r\n"


def assemble_message(fields: Sequence[tuple[str, bytes]], body: bytes) -> bytes:
    """Build raw message bytes from header fields as received and the body.

    Each value is what follows the colon, with its leading white space and its
    folds, as the MTA sends it when the milter negotiates SMFIP_HDR_LEADSPC.
    Folds sent with bare LF are written with CRLF, as on the wire. The body is
    used as it is, because the milter protocol sends it with CRLF already.
    """
    lines = []
    for name, value in fields:
        normalised = value.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        lines.append(name.encode("ascii", "replace") + b":" + normalised + b"\r\n")
    return b"".join(lines) + b"\r\n" + body


def unchecked_field(reason: str) -> HeaderField:
    """Build ``X-MPS-Verdict: unchecked; reason="..."`` for a message passed on without a check."""
    return HeaderField(VERDICT_FIELD, fold(VERDICT_FIELD, [UNCHECKED + ";", f"reason={quote(reason)}"]))


def rejection_text(result: Verification) -> str:
    """Return the plain-language text of the 550 reply for a rejected verdict."""
    entity = clean_text(result.entity or result.claimed_entity or "MPS", max_length=80)
    # libmilter drops a reply that contains a single "%", and a doubled one reaches the client doubled.
    entity = entity.replace("%", "")
    if result.verdict is Verdict.IMPERSONATION:
        return f"Message rejected because it poses as {entity} from an address that is not theirs"
    return f"Message rejected because it claims to be from {entity} but failed sender authentication"


def decide(result: Verification, settings: MilterSettings, deletions: Sequence[tuple[str, int]]) -> Outcome:
    """Turn a verification into header changes, or into a rejection under ``--reject``."""
    ordered = tuple(sorted(deletions, key=lambda deletion: (deletion[0].lower(), -deletion[1])))
    if settings.reject and result.verdict in _REJECTED:
        return Outcome(ordered, (), rejection_text(result), result.verdict.value)
    additions = (verdict_field(result), authentication_results_field(result, settings.authserv_id))
    return Outcome(ordered, additions, None, result.verdict.value)


def unchecked_outcome(reason: str, deletions: Sequence[tuple[str, int]]) -> Outcome:
    """Return the outcome for a message that is passed on without a verdict."""
    ordered = tuple(sorted(deletions, key=lambda deletion: (deletion[0].lower(), -deletion[1])))
    return Outcome(ordered, (unchecked_field(reason),))


def check_collected(verifier: Verifier, collector: MessageCollector, settings: MilterSettings,
                    queue_id: str) -> Outcome:
    """Check the collected message; an oversized message or a failing check becomes "unchecked"."""
    if collector.too_large:
        return unchecked_outcome(f"message larger than {settings.max_bytes} bytes", collector.deletions)
    try:
        result = verifier.verify(collector.message(), collector.envelope(), settings.now)
    except Exception:  # noqa: BLE001 - mail must pass even when a check has a bug
        logger.exception("queue id %s: the check failed; accepting the message unchecked", queue_id)
        return unchecked_outcome("internal error", collector.deletions)
    return decide(result, settings, collector.deletions)


# --- The command line ---------------------------------------------------------


def add_milter_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``milter`` command to ``commands``."""
    from .cli import _parse_time, add_source_options

    parser = commands.add_parser(
        "milter", help="run a milter that adds the verdict to mail during SMTP",
        description="Milter for Postfix (smtpd_milters) and Sendmail (INPUT_MAIL_FILTER): adds "
                    "X-MPS-Verdict and Authentication-Results fields to each message, or with --reject "
                    "rejects spoofed and impersonation mail. Needs the milter extra (pymilter). SIGTERM "
                    "or SIGINT stops it.")
    add_source_options(parser)
    parser.add_argument("--socket", required=True, metavar="SPEC",
                        help="libmilter socket to listen on: inet:PORT@ADDRESS (such as "
                             "inet:8894@127.0.0.1), inet6:PORT@ADDRESS, or unix:/PATH")
    parser.add_argument("--authserv-id", required=True, metavar="ID",
                        help="the name of this server in the Authentication-Results field it writes")
    parser.add_argument("--reject", action="store_true",
                        help="reject spoofed and impersonation mail with 550 5.7.1 instead of marking it")
    parser.add_argument("--max-bytes", type=_positive_int, default=DEFAULT_MAX_BYTES, metavar="BYTES",
                        help=f"largest message checked, in bytes; larger ones pass unchecked with "
                             f"X-MPS-Verdict: unchecked (default {DEFAULT_MAX_BYTES}, which is 32 MiB)")
    parser.add_argument("--timeout", type=_positive_int, default=600, metavar="SECONDS",
                        help="seconds libmilter waits for the MTA before it drops a connection (default 600)")
    parser.add_argument("--now", metavar="ISO-8601-TIME", type=_parse_time,
                        help="judge signature times as of this moment (default: now); for tests")
    parser.set_defaults(handler=run_milter)


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number greater than 0")
    return int(value)


def load_pymilter() -> ModuleType | None:
    """Import pymilter's ``Milter`` package; return None when it is not installed."""
    try:
        # importlib keeps mypy from looking for type information, which pymilter does not ship.
        return importlib.import_module("Milter")
    except ImportError:
        return None


def run_milter(args: argparse.Namespace) -> int:
    """Run ``mpsverify milter`` until SIGTERM or SIGINT; return the exit status."""
    from .cli import EX_USAGE, make_verifier

    milter_module = load_pymilter()
    if milter_module is None:
        print("mpsverify milter: pymilter is not installed; install the milter extra: "
              "pip install 'mpsverify[milter]' (it builds against libmilter-dev)", file=sys.stderr)
        return EX_UNAVAILABLE
    if not _SOCKET.match(args.socket):
        print(f"mpsverify milter: --socket {args.socket!r} is not valid; use inet:PORT@ADDRESS such as "
              "inet:8894@127.0.0.1, or unix:/PATH", file=sys.stderr)
        return EX_USAGE
    settings = MilterSettings(check_authserv_id(args.authserv_id), args.reject, args.max_bytes, args.now)
    verifier = make_verifier(args)

    # The per-message line and the start and stop lines are INFO, which the
    # command's default WARNING level hides.
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    milter_class = make_milter_class(milter_module, verifier, settings)
    # Milter.runmilter creates one instance of Milter.factory per connection.
    setattr(milter_module, "factory", milter_class)
    # Only header changes are used; telling the MTA lets it skip the others.
    milter_module.set_flags(milter_module.ADDHDRS | milter_module.CHGHDRS)
    # A Python exception that escapes a callback would otherwise make libmilter
    # answer 451 (TEMPFAIL); the callbacks catch their own, and this is the backstop.
    milter_module.set_exception_policy(milter_module.ACCEPT)
    logger.info("listening on %s as %s (reject %s, max %d bytes)", args.socket, settings.authserv_id,
                "on" if settings.reject else "off", settings.max_bytes)
    try:
        # libmilter handles SIGTERM, SIGINT and SIGHUP in a thread of its own:
        # it closes the socket and makes runmilter return.
        milter_module.runmilter(MILTER_NAME, args.socket, args.timeout)
    except milter_module.milter.error as error:
        print(f"mpsverify milter: libmilter failed on {args.socket}: {error}", file=sys.stderr)
        return EX_OSERR
    logger.info("stopped")
    return 0


# --- The pymilter adapter -----------------------------------------------------


def make_milter_class(milter_module: ModuleType, verifier: Verifier, settings: MilterSettings) -> Any:
    """Build the pymilter ``Milter.Base`` subclass whose instances handle one SMTP connection each.

    The class is built at run time because pymilter is imported only then.
    """
    base: Any = milter_module.Base

    class VerdictMilter(base):  # type: ignore[misc]
        def __init__(self) -> None:
            self.collector = MessageCollector(settings.authserv_id, settings.max_bytes)

        def _leading_space(self) -> bool:
            return bool(self._protocol & milter_module.P_HDR_LEADSPC)

        def connect(self, hostname: str, family: int, hostaddr: object) -> int:
            self.collector.client_ip = client_ip_of(hostaddr)
            return int(milter_module.CONTINUE)

        def hello(self, hostname: str) -> int:
            self.collector.helo = hostname
            return int(milter_module.CONTINUE)

        def envfrom(self, mail_from: str, *parameters: str) -> int:
            self.collector.start_message(mail_from)
            return int(milter_module.CONTINUE)

        def header(self, name: str, value: str | bytes) -> int:
            # pymilter decodes values as UTF-8 with surrogateescape, which encoding
            # the same way reverses byte for byte.
            raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
            # Without SMFIP_HDR_LEADSPC the MTA strips the space after the colon.
            self.collector.add_field(name, raw if self._leading_space() else b" " + raw)
            return int(milter_module.CONTINUE)

        def body(self, chunk: bytes) -> int:
            self.collector.add_body(chunk)
            if self.collector.too_large and self._protocol & milter_module.P_SKIP:
                return int(milter_module.SKIP)
            return int(milter_module.CONTINUE)

        def eom(self) -> int:
            queue_id = self.getsymval("i") or "unknown"
            try:
                outcome = check_collected(verifier, self.collector, settings, queue_id)
                status = self._apply(outcome, queue_id)
            except Exception:  # noqa: BLE001 - mail must pass even when a header change fails
                logger.exception("queue id %s: changing the header failed; accepting the message as it is",
                                 queue_id)
                status = int(milter_module.ACCEPT)
            finally:
                self.collector.reset_message()
            return status

        def _apply(self, outcome: Outcome, queue_id: str) -> int:
            if outcome.rejection is not None:
                logger.info("queue id %s: verdict %s, rejected", queue_id, outcome.verdict)
                self.setreply("550", "5.7.1", outcome.rejection)
                return int(milter_module.REJECT)
            for name, index in outcome.deletions:
                self.chgheader(name, index, None)
            # Index 0 is the top; inserting the last field first leaves them in order.
            for added in reversed(outcome.additions):
                self.addheader(added.name, self._field_value(added), 0)
            logger.info("queue id %s: verdict %s", queue_id, outcome.verdict)
            return int(milter_module.ACCEPT)

        def _field_value(self, added: HeaderField) -> str:
            # The MTA stores header fields with LF line ends and writes CRLF on the wire.
            value = added.value.replace("\r\n", "\n")
            return " " + value if self._leading_space() else value

        def abort(self) -> int:
            self.collector.reset_message()
            return int(milter_module.CONTINUE)

        def close(self) -> int:
            return int(milter_module.CONTINUE)

    return milter_module.header_leading_space(VerdictMilter)
