"""The command line: output forms and the documented exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mpsverify.cli import main

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE = PROJECT / "examples" / "newsletter"
SNAPSHOT = ["--dns-snapshot", str(EXAMPLE / "dns.yaml")]
ENVELOPE = ["--client-ip", "192.0.2.10", "--helo", "mta1.medicalprotection.org",
            "--mail-from", "bounce@medicalprotection.org", "--now", "2026-12-10T10:00:00Z"]


def test_example_is_authentic(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["check", "--json", *SNAPSHOT, *ENVELOPE, str(EXAMPLE / "message.eml")])
    output = json.loads(capsys.readouterr().out)
    assert status == 0
    assert output["verdict"] == "authentic"


def test_text_output_names_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", *SNAPSHOT, *ENVELOPE, str(EXAMPLE / "message.eml")])
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "Verdict: authentic (genuine mail from Medical Protection Society)"


def test_empty_file_exits_65(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    assert main(["check", *SNAPSHOT, str(empty)]) == 65
    assert capsys.readouterr().err.strip() == f"mpsverify: {empty} is not an email message (no header fields)"


def test_missing_file_exits_66(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.eml"
    assert main(["check", *SNAPSHOT, str(missing)]) == 66
    assert capsys.readouterr().err.strip() == f"mpsverify: cannot read {missing}: No such file or directory"


def test_unknown_option_exits_64(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--no-such-option", "x.eml"]) == 64
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_bad_time_exits_64() -> None:
    assert main(["check", "--now", "yesterday", "x.eml"]) == 64


def test_broken_snapshot_exits_78(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "dns.yaml"
    broken.write_text("example.org: [unclosed")
    assert main(["check", "--dns-snapshot", str(broken), str(EXAMPLE / "message.eml")]) == 78
    assert "not valid YAML" in capsys.readouterr().err


def test_module_entry_point_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "mpsverify", "check", "--json", *SNAPSHOT, *ENVELOPE,
                           str(EXAMPLE / "message.eml")], capture_output=True, timeout=60)
    assert done.returncode == 0
    assert json.loads(done.stdout)["verdict"] == "authentic"


def test_unreadable_allowlist_exits_66(tmp_path: Path) -> None:
    assert main(["check", "--allowlist", str(tmp_path / "none.yaml"), str(EXAMPLE / "message.eml")]) == 66


def test_allowlist_extra_is_layered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text("version: 1\nentities:\n  - name: Local portal\n    kind: portal\n"
                     "    domains: [portal.example.net]\n    confidence: configured\n    source: operator\n")
    status = main(["check", "--json", "--allowlist-extra", str(extra), *SNAPSHOT, *ENVELOPE,
                   str(EXAMPLE / "message.eml")])
    assert status == 0
    capsys.readouterr()


def test_bad_client_ip_exits_64(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *SNAPSHOT, "--client-ip", "999.1.1.1", str(EXAMPLE / "message.eml")]) == 64
    assert "'999.1.1.1' is not an IP address" in capsys.readouterr().err


def test_missing_snapshot_exits_66(tmp_path: Path) -> None:
    assert main(["check", "--dns-snapshot", str(tmp_path / "none.yaml"), str(EXAMPLE / "message.eml")]) == 66


def test_angle_null_sender_is_null(capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", "--json", *SNAPSHOT, "--client-ip", "192.0.2.10", "--helo", "mta1.medicalprotection.org",
          "--mail-from", "<>", "--now", "2026-12-10T10:00:00Z", str(EXAMPLE / "message.eml")])
    output = json.loads(capsys.readouterr().out)
    assert output["spf"]["scope"] == "helo"
    assert "envelope.invalid-mail-from" not in {reason["code"] for reason in output["reasons"]}


def test_text_output_has_marker_key(capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", *SNAPSHOT, *ENVELOPE, str(EXAMPLE / "message.eml")])
    assert capsys.readouterr().out.splitlines()[-1].startswith("Key: + counts in favour of the message")
