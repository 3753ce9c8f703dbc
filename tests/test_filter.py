"""The pipe filter: the message comes back whole, with our fields on top."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
SPOOFED = PROJECT / "examples" / "spoofed"
ARGS = [sys.executable, "-m", "mpsverify", "filter", "--authserv-id", "mx.test.example",
        "--dns-snapshot", str(SPOOFED / "dns.yaml"), "--client-ip", "198.51.100.200",
        "--mail-from", "news@medicalprotection.org"]


def run(message: bytes, *extra: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*ARGS, *extra], input=message, capture_output=True, timeout=60)


def test_filter_adds_fields_and_keeps_message() -> None:
    original = (SPOOFED / "message.eml").read_bytes()
    done = run(original)
    assert done.returncode == 0
    assert done.stdout.startswith(b"X-MPS-Verdict: spoofed;")
    assert b"\r\nAuthentication-Results: mx.test.example; spf=fail" in done.stdout
    assert done.stdout.endswith(original)


def test_filter_removes_forged_own_fields() -> None:
    forged = (b"X-MPS-Verdict: authentic\r\nAuthentication-Results: mx.test.example; dmarc=pass\r\n"
              + (SPOOFED / "message.eml").read_bytes())
    output = run(forged).stdout
    assert output.count(b"X-MPS-Verdict:") == 1
    assert b"dmarc=pass" not in output


def test_filter_reject_exits_2_for_spoofed() -> None:
    assert run((SPOOFED / "message.eml").read_bytes(), "--reject").returncode == 2


def test_filter_without_authserv_id_is_usage_error() -> None:
    done = subprocess.run(ARGS[:4] + ARGS[6:], input=b"", capture_output=True, timeout=60)
    assert done.returncode == 64


def test_filter_keeps_lf_line_endings() -> None:
    original = (SPOOFED / "message.eml").read_bytes().replace(b"\r\n", b"\n")
    output = run(original).stdout
    assert b"\r\n" not in output
    assert output.endswith(original)
