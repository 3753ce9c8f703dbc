"""Property and fuzz tests: no input makes verify() raise or the command print a traceback.

Inputs are random bytes, header soup built from the field names and value shapes
the checks read, and real messages mutated byte by byte: the acceptance messages
when the acceptance folder is present, plus a few built-in messages. DNS is
answered from a snapshot, so no test touches the network.

With CI set in the environment (as .ci/run has it) the tests run the "ci" profile:
derandomized, no example database, and more than 10,000 inputs in all. Elsewhere
the "dev" profile runs a tenth as many, with random seeds. Set
MPSVERIFY_FUZZ_PROFILE to choose one explicitly.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpsverify import Envelope, Settings, SnapshotResolver, Verification, Verifier
from mpsverify.allowlist import default_allowlist, load_allowlist
from mpsverify.cli import main
from mpsverify.message import parse_message

PROJECT = Path(__file__).resolve().parents[1]
ACCEPTANCE = Path(os.environ.get("MPSVERIFY_SHARED", PROJECT.parent / "shared")) / "acceptance"
NOW = datetime(2026, 12, 10, 10, 0, tzinfo=timezone.utc)

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE_NAME = os.environ.get("MPSVERIFY_FUZZ_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
PROFILE = settings.get_profile(PROFILE_NAME)
#: The dev profile runs this fraction of the CI example counts.
SCALE = 1.0 if PROFILE_NAME == "ci" else 0.1


def fuzz_settings(examples: int) -> settings:
    """Return the active profile with ``examples`` scaled to it, without loading it globally."""
    return settings(PROFILE, max_examples=max(10, int(examples * SCALE)))


# Example counts in the CI profile; they add up to 10,500 inputs.
RANDOM_BYTES_EXAMPLES = 2500
HEADER_SOUP_EXAMPLES = 3000
MUTATION_EXAMPLES = 4000
CLI_EXAMPLES = 1000


# Seeds and DNS

BUILT_IN_SEEDS = [
    b"From: News <news@medicalprotection.org>\r\nTo: a@hospital.example\r\nSubject: hi\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; d=medicalprotection.org; s=mp2026; c=relaxed/relaxed;\r\n"
    b" h=from:to:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n\r\nHello.\r\n",
    b"From: =?utf-8?b?TWVkaWNhbCBQcm90ZWN0aW9u?= <a@evil.example>\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/html; charset=utf-8\n"
    b"Content-Transfer-Encoding: quoted-printable\n\n<a href=3D\"https://evil.example/\">medicalprotection.org</a>\n"
    b"--b1\nContent-Type: application/octet-stream; name=\"invoice.pdf.exe\"\n"
    b"Content-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAA=\n--b1--\n",
    b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=lists.hospital.example; s=arc1; b=AAAA\r\n"
    b"ARC-Message-Signature: i=1; a=rsa-sha256; d=lists.hospital.example; s=arc1; h=from; bh=AAAA; b=AAAA\r\n"
    b"ARC-Authentication-Results: i=1; mx.hospital.example; dkim=pass header.d=medicalprotection.org\r\n"
    b"Authentication-Results: mx.hospital.example; dmarc=pass header.from=medicalprotection.org\r\n"
    b"From: a@medicalprotection.org\r\n\r\nbody\r\n",
]


def _acceptance_cases() -> list[Path]:
    return sorted(path.parent for path in (ACCEPTANCE / "cases").glob("*/case.yaml"))


def _seeds() -> list[bytes]:
    seeds = [(folder / "message.eml").read_bytes() for folder in _acceptance_cases()]
    return [seed for seed in seeds if seed] + BUILT_IN_SEEDS


SEEDS = _seeds()


def _records() -> dict[str, Any]:
    snapshot = ACCEPTANCE / "dns.yaml"
    if snapshot.is_file():
        loaded: dict[str, Any] = yaml.safe_load(snapshot.read_text(encoding="utf-8")) or {}
        return loaded
    return {}


RECORDS = _records()
ALLOWLIST = load_allowlist(ACCEPTANCE / "allowlist.yaml") if (ACCEPTANCE / "allowlist.yaml").is_file() \
    else default_allowlist()
ENVELOPES = [
    Envelope(),
    Envelope("192.0.2.10", "mta1.medicalprotection.org", "bounce@medicalprotection.org"),
    Envelope("198.51.100.200", "mta.evil.example", ""),
    Envelope("not-an-ip", "(weird helo)", 'a"b@c@d'),
]


def check(message: bytes, envelope: Envelope = ENVELOPES[0]) -> Verification:
    """Verify ``message`` offline and check the invariants every result must keep."""
    verifier = Verifier(ALLOWLIST, SnapshotResolver(RECORDS), Settings(trusted_authserv_ids=("mx.hospital.example",),
                                                                      trusted_arc_sealers=("lists.hospital.example",)))
    result = verifier.verify(message, envelope, NOW)
    assert isinstance(result, Verification)
    assert result.to_json()  # every result serialises
    assert result.verdict.exit_status in (0, 1, 2)
    return result


def triggers_charset_bug(message: bytes) -> bool:
    """Return True when a part's charset name makes bytes.decode raise ValueError.

    A charset such as "\\x00" makes Python raise "embedded null character"; the
    regression test below checks that verify() copes with it.
    """
    for part in parse_message(message).parts:
        try:
            b"".decode(part.charset or "utf-8")
        except LookupError:
            continue
        except ValueError:
            return True
    return False


# Strategies

FIELD_NAMES = ["From", "from", "FROM ", "Sender", "Reply-To", "To", "Subject", "Date", "Message-ID",
               "DKIM-Signature", "ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results",
               "Authentication-Results", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition",
               "MIME-Version", "Received", "Return-Path", "List-Id", "X-Mailer"]
VALUE_PIECES = [
    "news@medicalprotection.org", "<a@evil.example>", '"Medical Protection" <x@y.example>', "a@b@c.example",
    "@route.example:a@b.example", "<<a@b.example>", "=?utf-8?q?Medical_Protection?=", "=?utf-8?b?QEA=?=",
    "=?x-unknown?q?=FF?=", "v=1; a=rsa-sha256; d=medicalprotection.org; s=mp2026; h=from; bh=AAAA; b=AAAA",
    "v=1; a=ed25519-sha256; d=; s=; l=99999999999999999999; b=", "i=1; a=rsa-sha256; cv=pass; d=x; s=y; b=",
    "i=99999999999; cv=fail", "mx.hospital.example; dkim=pass header.d=medicalprotection.org",
    "multipart/mixed; boundary=\"b\"", "multipart/alternative; boundary=", "text/html; charset=utf-7",
    "text/plain; charset=\"\x00\"", "base64", "quoted-printable", "attachment; filename*=utf-8''a%00.exe",
    "(comment (nested)", "\"unterminated", ";;;;", "\\", "\r\n\t", "\r\n ", "\n", "\x00", "\xff", "é",
    "\u202e", "x" * 300,
]
header_value = st.lists(st.one_of(st.sampled_from(VALUE_PIECES), st.text(max_size=20)), max_size=6).map("".join)
header_field = st.tuples(st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=10)), header_value)
BODY_PIECES = [b"--b\r\n", b"--b--\r\n", b"Content-Type: text/html\r\n\r\n", b"<a href='https://x.example'>",
               b"https://medicalprotection.org.evil.example/", b"=3D=\r\n", b"\r\n", b"\n", b"\x00", b"\xff"]
body = st.lists(st.one_of(st.sampled_from(BODY_PIECES), st.binary(max_size=40)), max_size=10).map(b"".join)


@st.composite
def header_soup(draw: st.DrawFn) -> bytes:
    fields = draw(st.lists(header_field, max_size=15))
    separator = draw(st.sampled_from(["\r\n", "\n"]))
    section = separator.join(f"{name}: {value}" for name, value in fields)
    encoding = draw(st.sampled_from(["utf-8", "latin-1"]))
    return section.encode(encoding, errors="replace") + separator.encode() * 2 + draw(body)


INTERESTING_BYTES = [b"\r", b"\n", b"\r\n", b"\r\n\r\n", b":", b";", b"<", b">", b"@", b"=", b"=?", b"?=",
                     b'"', b"\\", b"(", b")", b" ", b"\t", b"\x00", b"\xff", b"\xc3", b"--", b"=\r\n"]


@st.composite
def mutated_seed(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, max(0, len(data) - 1)))
        operation = draw(st.sampled_from(["flip", "insert", "delete", "replace", "truncate", "duplicate"]))
        if operation == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif operation == "insert":
            data[position:position] = draw(st.sampled_from(INTERESTING_BYTES))
        elif operation == "delete":
            del data[position:position + draw(st.integers(1, 16))]
        elif operation == "replace" and data:
            data[position] = draw(st.integers(0, 255))
        elif operation == "truncate":
            del data[position:]
        elif operation == "duplicate":
            data[position:position] = data[position:position + draw(st.integers(1, 200))]
    return bytes(data)


# verify()


@fuzz_settings(RANDOM_BYTES_EXAMPLES)
@given(st.binary(max_size=4096), st.sampled_from(ENVELOPES))
def test_verify_random_bytes(message: bytes, envelope: Envelope) -> None:
    check(message, envelope)


@fuzz_settings(HEADER_SOUP_EXAMPLES)
@given(header_soup(), st.sampled_from(ENVELOPES))
def test_verify_header_soup(message: bytes, envelope: Envelope) -> None:
    check(message, envelope)


@fuzz_settings(MUTATION_EXAMPLES)
@given(mutated_seed(), st.sampled_from(ENVELOPES))
def test_verify_mutated_messages(message: bytes, envelope: Envelope) -> None:
    check(message, envelope)


def test_nul_charset_does_not_raise() -> None:
    message = b'From: a@b.example\r\nContent-Type: text/plain; charset="\x00"\r\n\r\nbody\r\n'
    assert triggers_charset_bug(message)
    check(message)


def test_seed_messages_verify() -> None:
    # The unmutated seeds must pass the invariants too, and there must be seeds.
    assert len(SEEDS) >= len(BUILT_IN_SEEDS)
    for seed in SEEDS:
        check(seed)


# The command line, in process


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli-fuzz")
    snapshot = folder / "dns.yaml"
    snapshot.write_text(yaml.safe_dump(RECORDS), encoding="utf-8")
    return {"snapshot": snapshot, "message": folder / "message.eml"}


def run_cli(arguments: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(arguments)
    return status, out.getvalue(), err.getvalue()


@fuzz_settings(CLI_EXAMPLES)
@given(st.one_of(mutated_seed(), header_soup(), st.binary(max_size=512)), st.booleans())
def test_cli_never_raises(cli_files: dict[str, Path], message: bytes, as_json: bool) -> None:
    cli_files["message"].write_bytes(message)
    arguments = ["check", "--dns-snapshot", str(cli_files["snapshot"]), "--client-ip", "192.0.2.10",
                 "--mail-from", "bounce@medicalprotection.org", "--now", "2026-12-10T10:00:00Z"]
    arguments += ["--json"] if as_json else []
    status, out, err = run_cli(arguments + [str(cli_files["message"])])

    assert status in (0, 1, 2, 65)
    assert "Traceback" not in err
    if status != 65:
        assert out.strip()


# The command line, as a separate process


def subprocess_inputs() -> list[bytes]:
    """Return a fixed set of hostile inputs for the slower out-of-process runs."""
    inputs = [b"", b"\x00" * 100, b"\r\n\r\n", b"From:\r\n\r\n", b"\xff\xfe" * 50, b":" * 1000]
    for seed in SEEDS[:4]:
        inputs.append(seed[: len(seed) // 2])
        inputs.append(seed.replace(b"\n", b"\r", 5))
    return inputs


@pytest.mark.parametrize("message", subprocess_inputs(), ids=lambda message: f"{len(message)}-bytes")
def test_cli_process_no_traceback(cli_files: dict[str, Path], message: bytes) -> None:
    done = subprocess.run([sys.executable, "-m", "mpsverify", "check", "--json", "--dns-snapshot",
                           str(cli_files["snapshot"]), "-"], input=message, capture_output=True, timeout=60)
    assert b"Traceback" not in done.stderr
    assert done.returncode in (0, 1, 2, 65)
