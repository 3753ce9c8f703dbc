"""``mpsverify milter``: message assembly, the pymilter callbacks, and the milter behind a real Postfix.

The Postfix tests use the private instance of ``.ci/postfix start``. Its SMTP
listener on the "port" of the "milter" entry in instance.json passes each
message to a milter that adds the verdict. The one on "reject_port" passes it
to a milter started with --reject. Mail for the milter domain is stored unchanged,
so the fields in the stored copy are the milter's. The tests set the client
address with XCLIENT, as tests/test_postfix_filter.py does, and skip when the
instance or pymilter is missing.
"""

from __future__ import annotations

import email.parser
import email.policy
import importlib.util
import signal
import smtplib
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from mpsverify.cli import main
from mpsverify.headers import HeaderField
from mpsverify.milter import (UNCHECKED, MessageCollector, MilterSettings, assemble_message, check_collected,
                              client_ip_of, is_own_field, make_milter_class, parse_mail_from)
from mpsverify.resolver import SnapshotResolver
from mpsverify.verify import Verifier
from test_postfix_filter import (NEWSLETTER, SPOOFED, ExampleMail, changed_source_files, load_instance, send,
                                 wait_for_delivery)

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLES = PROJECT / "examples"
AUTHSERV_ID = "mx.mpsverify.test"
HAVE_PYMILTER = importlib.util.find_spec("Milter") is not None
NOW = "2026-12-10T10:00:00Z"

# Fields that a sender forges so that a careless filter passes them on. The
# milter must delete the first three and keep the one from another server.
FORGED_FIELDS = (b"X-MPS-Verdict: authentic; entity=\"Medical Protection Society\"\r\n"
                 b"Authentication-Results: mx.mpsverify.test; dkim=pass header.d=medicalprotection.org\r\n"
                 b"X-MPS-Verdict: partner\r\n"
                 b"Authentication-Results: mx.other.example; spf=pass smtp.mailfrom=sender.example\r\n")


def split_message(raw: bytes) -> tuple[list[tuple[str, bytes]], bytes]:
    """Split a CRLF message into (name, value after the colon) pairs and the body, as an MTA sends them."""
    header, body = raw.split(b"\r\n\r\n", 1)
    fields: list[tuple[str, bytes]] = []
    for line in header.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            name, value = fields[-1]
            # Postfix and Sendmail send folds inside a value with a bare LF.
            fields[-1] = (name, value + b"\n" + line)
        else:
            name, _, value = line.partition(b":")
            fields.append((name.decode("ascii"), value))
    return fields, body


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


# --- Message assembly, without pymilter -------------------------------------------------------------


@pytest.mark.parametrize("example", ["newsletter", "spoofed", "lookalike"])
def test_assemble_message_restores_example(example: str) -> None:
    original = crlf((EXAMPLES / example / "message.eml").read_bytes())
    fields, body = split_message(original)
    assert assemble_message(fields, body) == original


def test_assemble_message_keeps_spacing() -> None:
    fields = [("Subject", b"  two spaces"), ("X-Tight", b"no space"), ("X-Folded", b" one\n\ttwo")]
    assert assemble_message(fields, b"body\r\n") == (
        b"Subject:  two spaces\r\nX-Tight:no space\r\nX-Folded: one\r\n\ttwo\r\n\r\nbody\r\n")


def test_assemble_message_without_body() -> None:
    assert assemble_message([("Subject", b" hi")], b"") == b"Subject: hi\r\n\r\n"


@pytest.mark.parametrize(("argument", "expected"), [
    ("<news@medicalprotection.org>", "news@medicalprotection.org"),
    ("<>", ""),
    ("bare@example.org", "bare@example.org"),
    (" <spaced@example.org> ", "spaced@example.org"),
])
def test_parse_mail_from(argument: str, expected: str) -> None:
    assert parse_mail_from(argument) == expected


@pytest.mark.parametrize(("hostaddr", "expected"), [
    (("192.0.2.10", 25), "192.0.2.10"),
    (("2001:db8::1", 25, 0, 0), "2001:db8::1"),
    ("/run/postfix/smtpd.sock", None),
    (None, None),
])
def test_client_ip_of(hostaddr: object, expected: str | None) -> None:
    assert client_ip_of(hostaddr) == expected


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("X-MPS-Verdict", b" authentic", True),
    ("x-mps-verdict", b" spoofed", True),
    ("Authentication-Results", b" mx.mpsverify.test; spf=pass", True),
    ("Authentication-Results", b" MX.MPSVERIFY.TEST (comment); none", True),
    ("Authentication-Results", b" mx.other.example; spf=pass", False),
    ("Authentication-Results", b" mx.mpsverify.test.evil.example; spf=pass", False),
    ("Subject", b" X-MPS-Verdict: authentic", False),
])
def test_is_own_field(name: str, value: bytes, expected: bool) -> None:
    assert is_own_field(name, value, AUTHSERV_ID) is expected


def test_collector_counts_deletions_by_name() -> None:
    collector = MessageCollector(AUTHSERV_ID)
    collector.start_message("<news@medicalprotection.org>")
    fields, body = split_message(FORGED_FIELDS + crlf((EXAMPLES / "spoofed" / "message.eml").read_bytes()))
    for name, value in fields:
        collector.add_field(name, value)
    collector.add_body(body)
    assert collector.deletions == [("X-MPS-Verdict", 1), ("Authentication-Results", 1), ("X-MPS-Verdict", 2)]
    assert collector.mail_from == "news@medicalprotection.org"


def test_collector_drops_message_over_limit() -> None:
    collector = MessageCollector(AUTHSERV_ID, max_bytes=100)
    collector.start_message("<>")
    collector.add_field("Subject", b" hello")
    collector.add_body(b"x" * 200)
    collector.add_field("X-MPS-Verdict", b" authentic")
    assert collector.too_large
    assert collector.fields == []
    assert collector.body == []
    assert collector.deletions == [("X-MPS-Verdict", 1)]
    assert collector.mail_from == ""


def make_verifier() -> Verifier:
    return Verifier(resolver=SnapshotResolver.from_file(EXAMPLES / "newsletter" / "dns.yaml"))


def collect(mail: ExampleMail, extra_fields: bytes = b"", max_bytes: int = 32 * 1024 * 1024) -> MessageCollector:
    collector = MessageCollector(AUTHSERV_ID, max_bytes, client_ip=mail.client_ip, helo=mail.helo)
    collector.start_message(f"<{mail.mail_from}>")
    fields, body = split_message(extra_fields + crlf(mail.message.read_bytes()))
    for name, value in fields:
        collector.add_field(name, value)
    collector.add_body(body)
    return collector


def test_check_collected_oversized_is_unchecked() -> None:
    settings = MilterSettings(AUTHSERV_ID, max_bytes=500)
    outcome = check_collected(make_verifier(), collect(NEWSLETTER, FORGED_FIELDS, 500), settings, "Q1")
    assert outcome.verdict == UNCHECKED
    assert outcome.rejection is None
    assert [added.to_string() for added in outcome.additions] == [
        'X-MPS-Verdict: unchecked; reason="message larger than 500 bytes"\r\n']
    assert outcome.deletions == (("Authentication-Results", 1), ("X-MPS-Verdict", 2), ("X-MPS-Verdict", 1))


def test_check_collected_failure_is_unchecked(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenVerifier(Verifier):
        def verify(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("simulated bug")

    outcome = check_collected(BrokenVerifier(), collect(NEWSLETTER), MilterSettings(AUTHSERV_ID), "Q2")
    assert outcome.verdict == UNCHECKED
    assert outcome.additions[0].to_string() == 'X-MPS-Verdict: unchecked; reason="internal error"\r\n'
    assert "queue id Q2: the check failed" in caplog.text
    assert "simulated bug" in caplog.text


def test_milter_command_without_pymilter(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # A None entry in sys.modules makes "import Milter" raise ImportError.
    monkeypatch.setitem(sys.modules, "Milter", None)
    status = main(["milter", "--socket", "inet:55499@127.0.0.1", "--authserv-id", AUTHSERV_ID])
    assert status == 69
    error = capsys.readouterr().err
    assert "pymilter is not installed" in error
    assert "mpsverify[milter]" in error
    assert error.count("\n") == 1


# --- The pymilter callbacks, with a recording context instead of libmilter ---------------------------


class RecordingContext:
    """A stand-in for pymilter's milterContext that records the changes the milter requests."""

    def __init__(self, queue_id: str = "Q3") -> None:
        self.priv: Any = None
        self.queue_id = queue_id
        self.changes: list[tuple[Any, ...]] = []
        self.reply: tuple[Any, ...] | None = None

    def setpriv(self, priv: Any) -> None:
        self.priv = priv

    def getpriv(self) -> Any:
        return self.priv

    def getsymval(self, name: str) -> str | None:
        return self.queue_id if name == "i" else None

    def chgheader(self, name: str, index: int, value: str | None) -> None:
        self.changes.append(("chgheader", name, index, value))

    def addheader(self, name: str, value: str, index: int) -> None:
        self.changes.append(("addheader", name, value, index))

    def setreply(self, code: str, extended: str, *lines: str) -> None:
        self.reply = (code, extended) + lines


def run_callbacks(mail: ExampleMail, settings: MilterSettings, leading_space: bool = True) -> tuple[RecordingContext, int]:
    """Feed ``mail`` through the milter class's callbacks in libmilter's order; return the context and eom's status."""
    import Milter

    milter_class = make_milter_class(Milter, make_verifier(), settings)
    context = RecordingContext()
    instance = milter_class()
    instance._setctx(context)
    if leading_space:
        instance._protocol = Milter.P_HDR_LEADSPC
    assert instance.connect("unknown", socket.AF_INET, (mail.client_ip, 25)) == Milter.CONTINUE
    assert instance.hello(mail.helo) == Milter.CONTINUE
    assert instance.envfrom_bytes(f"<{mail.mail_from}>".encode()) == Milter.CONTINUE
    fields, body = split_message(FORGED_FIELDS + crlf(mail.message.read_bytes()))
    for name, value in fields:
        # Without SMFIP_HDR_LEADSPC the MTA strips the white space after the colon.
        sent = value if leading_space else value.lstrip(b" \t")
        assert instance.header_bytes(name, sent) == Milter.CONTINUE
    assert instance.body(body) == Milter.CONTINUE
    return context, instance.eom()


@pytest.mark.skipif(not HAVE_PYMILTER, reason="pymilter is not installed (pip install 'mpsverify[milter]')")
@pytest.mark.parametrize("leading_space", [True, False], ids=["leadspc", "no-leadspc"])
def test_milter_callbacks_mark_message(leading_space: bool) -> None:
    import Milter

    context, status = run_callbacks(NEWSLETTER, MilterSettings(AUTHSERV_ID), leading_space)
    assert status == Milter.ACCEPT
    assert context.reply is None
    deletions = [change for change in context.changes if change[0] == "chgheader"]
    assert deletions == [("chgheader", "Authentication-Results", 1, None), ("chgheader", "X-MPS-Verdict", 2, None),
                         ("chgheader", "X-MPS-Verdict", 1, None)]
    additions = [change for change in context.changes if change[0] == "addheader"]
    assert [(name, index) for _, name, _, index in additions] == [("Authentication-Results", 0), ("X-MPS-Verdict", 0)]
    verdict_value = additions[1][2]
    assert verdict_value.startswith(" authentic;" if leading_space else "authentic;")
    assert "\r" not in verdict_value


@pytest.mark.skipif(not HAVE_PYMILTER, reason="pymilter is not installed (pip install 'mpsverify[milter]')")
def test_milter_callbacks_reject_spoofed() -> None:
    import Milter

    context, status = run_callbacks(SPOOFED, MilterSettings(AUTHSERV_ID, reject=True))
    assert status == Milter.REJECT
    assert context.reply == ("550", "5.7.1", "Message rejected because it claims to be from Medical Protection "
                                             "Society but failed sender authentication")
    assert context.changes == []


@pytest.mark.skipif(not HAVE_PYMILTER, reason="pymilter is not installed (pip install 'mpsverify[milter]')")
def test_milter_callbacks_accept_when_header_change_fails(caplog: pytest.LogCaptureFixture) -> None:
    import Milter

    class FailingContext(RecordingContext):
        def chgheader(self, name: str, index: int, value: str | None) -> None:
            raise Milter.milter.error("cannot change header")

    milter_class = make_milter_class(Milter, make_verifier(), MilterSettings(AUTHSERV_ID))
    instance = milter_class()
    instance._setctx(FailingContext())
    instance.envfrom_bytes(b"<news@medicalprotection.org>")
    instance.header_bytes("X-MPS-Verdict", b" authentic")
    instance.header_bytes("From", b" news@medicalprotection.org")
    assert instance.eom() == Milter.ACCEPT
    assert "queue id Q3: changing the header failed" in caplog.text


@pytest.mark.skipif(not HAVE_PYMILTER, reason="pymilter is not installed (pip install 'mpsverify[milter]')")
def test_milter_stops_on_sigterm() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "mpsverify", "milter", f"--socket=inet:{port}@127.0.0.1",
               f"--authserv-id={AUTHSERV_ID}", f"--dns-snapshot={EXAMPLES / 'newsletter' / 'dns.yaml'}"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, f"the milter exited early: {process.stderr.read() if process.stderr else ''}"
                assert time.monotonic() < deadline, "the milter did not listen within 20 s"
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, errors
    assert "listening on" in errors
    assert errors.rstrip().endswith("stopped")


# --- Behind Postfix ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def milter_instance() -> dict[str, Any]:
    instance = load_instance()
    if "milter" not in instance:
        pytest.skip("the Postfix test instance runs without milters; run .ci/postfix start again")
    stale = changed_source_files(Path(instance["source"]))
    if stale:
        pytest.fail(f"the Postfix test instance runs mpsverify as copied at its start, and these files changed "
                    f"since: {', '.join(stale[:5])}; run .ci/postfix start again")
    milter: dict[str, Any] = instance["milter"]
    return {**instance, **milter}


def with_forged_fields(mail: ExampleMail, tmp_path: Path) -> ExampleMail:
    """Return ``mail`` with FORGED_FIELDS on top, written under ``tmp_path``."""
    path = tmp_path / "message.eml"
    path.write_bytes(FORGED_FIELDS + crlf(mail.message.read_bytes()))
    return ExampleMail(path, mail.client_ip, mail.helo, mail.mail_from, mail.verdict, mail.results)


@pytest.mark.parametrize("mail", [NEWSLETTER, SPOOFED], ids=["newsletter", "spoofed"])
def test_postfix_milter_adds_verdict(milter_instance: dict[str, Any], mail: ExampleMail, tmp_path: Path) -> None:
    recipient = f"member-{uuid.uuid4().hex[:12]}@{milter_instance['domain']}"
    forged = with_forged_fields(mail, tmp_path)
    send(milter_instance, forged, recipient)
    delivered = wait_for_delivery(milter_instance, recipient)

    fields = email.parser.BytesParser(policy=email.policy.default).parsebytes(delivered)
    verdict_fields = fields.get_all("X-MPS-Verdict") or []
    assert len(verdict_fields) == 1
    assert str(verdict_fields[0]).split(";")[0].strip() == mail.verdict

    authentication_results = [str(value) for value in fields.get_all("Authentication-Results") or []]
    ours = [value for value in authentication_results if value.startswith(milter_instance["authserv_id"] + ";")]
    assert len(ours) == 1
    results = dict(resinfo.split()[0].split("=", 1) for resinfo in ours[0].split(";")[1:])
    for method, result in mail.results.items():
        assert results.get(method) == result, f"{method} in {ours[0]}"
    assert "mx.other.example; spf=pass smtp.mailfrom=sender.example" in authentication_results

    # The milter adds its fields at the top and leaves the rest of the message,
    # body included, as it was sent; the pipe transport writes LF line endings.
    original = mail.message.read_bytes().replace(b"\r\n", b"\n")
    assert delivered.split(b"\n\n", 1)[1] == original.split(b"\n\n", 1)[1]
    assert delivered.endswith(original)
    assert delivered.startswith(f"Delivered-To: {recipient}\nX-MPS-Verdict: {mail.verdict};".encode())


def test_postfix_milter_rejects_spoofed(milter_instance: dict[str, Any]) -> None:
    recipient = f"member-{uuid.uuid4().hex[:12]}@{milter_instance['domain']}"
    with pytest.raises(smtplib.SMTPDataError) as rejection:
        send({**milter_instance, "port": milter_instance["reject_port"]}, SPOOFED, recipient)
    assert rejection.value.smtp_code == 550
    assert rejection.value.smtp_error.decode() == ("5.7.1 Message rejected because it claims to be from Medical "
                                                   "Protection Society but failed sender authentication")


def test_postfix_reject_milter_passes_newsletter(milter_instance: dict[str, Any]) -> None:
    recipient = f"member-{uuid.uuid4().hex[:12]}@{milter_instance['domain']}"
    send({**milter_instance, "port": milter_instance["reject_port"]}, NEWSLETTER, recipient)
    delivered = wait_for_delivery(milter_instance, recipient)
    assert delivered.startswith(f"Delivered-To: {recipient}\nX-MPS-Verdict: authentic;".encode())


def test_postfix_milter_logs_queue_ids(milter_instance: dict[str, Any]) -> None:
    recipient = f"member-{uuid.uuid4().hex[:12]}@{milter_instance['domain']}"
    send(milter_instance, NEWSLETTER, recipient)
    delivered = wait_for_delivery(milter_instance, recipient)
    queue_id = email.parser.BytesParser(policy=email.policy.default).parsebytes(delivered)["Received"].split(
        " id ")[1].split(";")[0].split()[0]
    log = Path(milter_instance["logs"][0]).read_text()
    assert f"queue id {queue_id}: verdict authentic" in log
    # The log holds no message content.
    assert "December update" not in log
    assert "member-" not in log
