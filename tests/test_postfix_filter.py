"""``mpsverify filter`` behind a real Postfix: SMTP in, filtered message in a Maildir.

``.ci/postfix start`` runs a private Postfix instance on 127.0.0.1 whose pipe(8)
transport runs ``mpsverify filter`` with the SMTP envelope that Postfix recorded
and the DNS snapshot examples/newsletter/dns.yaml. The test connects from
127.0.0.1, so it sets the envelope of a remote sending server with XCLIENT
(allowed for 127.0.0.1 in tests/postfix/main.cf.in). The tests skip when the
instance is not running.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import os
import shutil
import smtplib
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLES = PROJECT / "examples"
STATE = Path(os.environ.get("MPSVERIFY_POSTFIX_STATE", "/tmp/mpsverify-postfix"))
DELIVERY_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class ExampleMail:
    """An example message, the SMTP envelope it is sent with, and the results the filter must add."""

    message: Path
    client_ip: str
    helo: str
    mail_from: str
    verdict: str
    results: dict[str, str]


# The client addresses, HELO and MAIL FROM are those of examples/README.md, which
# gives no HELO name for the spoofed message, so it uses a name outside MPS.
NEWSLETTER = ExampleMail(message=EXAMPLES / "newsletter" / "message.eml", client_ip="192.0.2.10",
                         helo="mta1.medicalprotection.org", mail_from="bounce@medicalprotection.org",
                         verdict="authentic", results={"spf": "pass", "dkim": "pass", "dmarc": "pass"})
SPOOFED = ExampleMail(message=EXAMPLES / "spoofed" / "message.eml", client_ip="198.51.100.200",
                      helo="mail.sender.example", mail_from="news@medicalprotection.org",
                      verdict="spoofed", results={"spf": "fail", "dmarc": "fail"})


def load_instance() -> dict[str, Any]:
    """Return the instance description that .ci/postfix wrote, or skip when no SMTP server runs on its port."""
    listing = STATE / "instance.json"
    if not listing.is_file():
        pytest.skip(f"the Postfix test instance is not running ({listing} is missing; run .ci/postfix start)")
    instance: dict[str, Any] = json.loads(listing.read_text())
    try:
        with smtplib.SMTP("127.0.0.1", instance["port"], timeout=5) as client:
            client.noop()
    except (OSError, smtplib.SMTPException) as error:
        pytest.skip(f"the Postfix test instance is not running (no SMTP server accepts connections on "
                    f"127.0.0.1:{instance['port']}: {error}; run .ci/postfix start)")
    return instance


@pytest.fixture(scope="module")
def instance() -> dict[str, Any]:
    instance = load_instance()
    stale = changed_source_files(Path(instance["source"]))
    if stale:
        pytest.fail(f"the Postfix test instance runs mpsverify as copied at its start, and these files changed "
                    f"since: {', '.join(stale[:5])}; run .ci/postfix start again")
    return instance


def changed_source_files(copy: Path) -> list[str]:
    """Return the package files whose copy in ``copy`` differs from the work tree, or is missing there."""
    changed = []
    for folder in ("src", "data"):
        names = sorted(package_files(PROJECT, folder) | package_files(copy, folder))
        for name in names:
            original = PROJECT / name
            copied = copy / name
            if not (original.is_file() and copied.is_file() and original.read_bytes() == copied.read_bytes()):
                changed.append(str(name))
    return changed


def package_files(root: Path, folder: str) -> set[Path]:
    """Return the paths, relative to ``root``, of the files under ``root/folder`` that a build installs."""
    return {path.relative_to(root) for path in (root / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
            and not any(part.endswith(".egg-info") for part in path.parts)}


def send(instance: dict[str, Any], mail: ExampleMail, recipient: str) -> None:
    """Send ``mail.message`` to ``recipient`` as if from ``mail.client_ip``, using XCLIENT."""
    with smtplib.SMTP("127.0.0.1", instance["port"], timeout=10) as client:
        client.ehlo("test-client.mpsverify.test")
        assert client.has_extn("xclient"), "Postfix does not offer XCLIENT to 127.0.0.1"

        code, reply = client.docmd("XCLIENT", f"ADDR={mail.client_ip} HELO={mail.helo}")
        assert code == 220, f"XCLIENT was rejected: {code} {reply.decode(errors='replace')}"

        # XCLIENT resets the session, so the client greets again, with the same name.
        client.ehlo(mail.helo)
        client.sendmail(mail.mail_from, [recipient], mail.message.read_bytes())


def wait_for_delivery(instance: dict[str, Any], recipient: str) -> bytes:
    """Return the message delivered to ``recipient``, waiting for at most DELIVERY_TIMEOUT_SECONDS."""
    marker = f"\nDelivered-To: {recipient}\n".encode()
    new = Path(instance["maildir"]) / "new"
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for path in new.iterdir():
            content = path.read_bytes()
            if marker in b"\n" + content:
                return content
        time.sleep(0.2)
    pytest.fail(f"no message for {recipient} in {new} within {DELIVERY_TIMEOUT_SECONDS} s\n"
                f"{describe_queue(instance, recipient)}")


def describe_queue(instance: dict[str, Any], recipient: str) -> str:
    """Return the queue listing and the log lines about ``recipient``, to explain a missing delivery."""
    command = [shutil.which("postqueue") or "/usr/sbin/postqueue", "-c", instance["config_directory"], "-p"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
        queue = done.stdout + done.stderr
    except (OSError, subprocess.TimeoutExpired) as error:
        queue = f"{' '.join(command)} failed: {error}\n"
    log = Path(instance["maillog"])
    lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
    about_recipient = "\n".join(line for line in lines if recipient in line)
    return f"postqueue -p:\n{queue}\n{log} lines about the recipient:\n{about_recipient}"


@pytest.mark.parametrize("mail", [NEWSLETTER, SPOOFED], ids=["newsletter", "spoofed"])
def test_postfix_pipe_adds_verdict(instance: dict[str, Any], mail: ExampleMail) -> None:
    recipient = f"member-{uuid.uuid4().hex[:12]}@{instance['domain']}"
    send(instance, mail, recipient)
    delivered = wait_for_delivery(instance, recipient)

    fields = email.parser.BytesParser(policy=email.policy.default).parsebytes(delivered)
    verdict_fields = fields.get_all("X-MPS-Verdict") or []
    assert len(verdict_fields) == 1
    assert str(verdict_fields[0]).split(";")[0].strip() == mail.verdict

    authentication_results = fields.get_all("Authentication-Results") or []
    assert len(authentication_results) == 1
    authserv_id, *resinfos = str(authentication_results[0]).split(";")
    assert authserv_id == instance["authserv_id"]
    results = dict(resinfo.split()[0].split("=", 1) for resinfo in resinfos)
    for method, result in mail.results.items():
        assert results.get(method) == result, f"{method} in {authentication_results[0]}"

    # pipe(8) hands the message over with LF line endings, and the filter keeps
    # them, so the whole original message follows the fields added on top.
    original = mail.message.read_bytes().replace(b"\r\n", b"\n")
    original_body = original.split(b"\n\n", 1)[1]
    assert delivered.split(b"\n\n", 1)[1] == original_body
    assert delivered.endswith(original)
    assert delivered.startswith(b"X-MPS-Verdict: ")
