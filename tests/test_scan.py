"""``mpsverify scan``: mailbox formats, JSON Lines output, summary, progress bar and workers."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from mpsverify.cli import main
from mpsverify.scan import READ_ERROR, MessageRef, ProgressBar, check_message, find_messages, read_message

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLES = PROJECT / "examples"
SNAPSHOT = ["--dns-snapshot", str(EXAMPLES / "newsletter" / "dns.yaml"), "--now", "2026-12-10T10:00:00Z"]
#: Verdicts of the shipped examples when checked without an envelope.
EXPECTED = {"newsletter": "authentic", "spoofed": "unverified", "lookalike": "impersonation"}


def example(name: str) -> bytes:
    return (EXAMPLES / name / "message.eml").read_bytes()


@pytest.fixture
def eml_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "eml"
    (folder / "sub").mkdir(parents=True)
    (folder / "newsletter.eml").write_bytes(example("newsletter"))
    (folder / "sub" / "spoofed.eml").write_bytes(example("spoofed"))
    (folder / "lookalike.eml").write_bytes(example("lookalike"))
    (folder / "notes.txt").write_text("not a message file")
    return folder


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    folder = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True)
    (folder / "cur" / "1700000000.M1P1.host:2,S").write_bytes(example("newsletter"))
    (folder / "new" / "1700000001.M2P1.host").write_bytes(example("lookalike"))
    (folder / "cur" / ".1700000002.partial").write_bytes(example("spoofed"))
    (folder / "tmp" / "1700000003.M3P1.host").write_bytes(example("spoofed"))
    return folder


def mbox_bytes(*messages: bytes) -> bytes:
    """Write messages in mboxrd form, quoting body lines that start with "From "."""
    out = b""
    for number, message in enumerate(messages):
        body = message.replace(b"\r\n", b"\n")
        body = b"\n".join(b">" + line if line.lstrip(b">").startswith(b"From ") else line
                          for line in body.split(b"\n"))
        out += f"From sender{number}@example.org Thu Dec 10 10:00:00 2026\n".encode() + body.rstrip(b"\n") + b"\n\n"
    return out


def run_scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, object]], str]:
    status = main(["scan", *SNAPSHOT, *args])
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines() if line]
    return status, records, captured.err


def test_folder_finds_eml_recursively(eml_folder: Path) -> None:
    mailbox_format, refs = find_messages(eml_folder)
    assert mailbox_format == "folder of .eml files"
    assert [ref.key for ref in refs] == ["lookalike.eml", "newsletter.eml", "sub/spoofed.eml"]


def test_maildir_skips_tmp_and_dot_files(maildir: Path) -> None:
    mailbox_format, refs = find_messages(maildir)
    assert mailbox_format == "Maildir"
    assert [ref.key for ref in refs] == ["1700000001.M2P1.host", "1700000000.M1P1.host"]


def test_mbox_split_and_unquoted(tmp_path: Path) -> None:
    first = b"From: a@example.org\nSubject: one\n\nFrom the start.\n>From quoted.\n"
    second = b"From: b@example.org\nSubject: two\n\nbody\n"
    path = tmp_path / "inbox.mbox"
    path.write_bytes(mbox_bytes(first, second))
    mailbox_format, refs = find_messages(path)
    assert mailbox_format == "mbox"
    assert [ref.key for ref in refs] == ["mbox:1", "mbox:2"]
    assert read_message(refs[0]) == first
    assert read_message(refs[1]) == second


def test_single_file_is_one_message(tmp_path: Path) -> None:
    path = tmp_path / "one.eml"
    path.write_bytes(example("newsletter"))
    assert find_messages(path) == ("message file", [MessageRef("one.eml", str(path))])


def test_scan_folder_json_lines(eml_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, records, err = run_scan(capsys, "--workers", "1", str(eml_folder))
    verdicts = {record["key"]: record["verdict"] for record in records}
    assert verdicts == {"lookalike.eml": "impersonation", "newsletter.eml": "authentic",
                        "sub/spoofed.eml": "unverified"}
    newsletter = next(record for record in records if record["key"] == "newsletter.eml")
    assert newsletter["path"] == str(eml_folder / "newsletter.eml")
    assert "dkim.pass" in newsletter["reasons"]  # type: ignore[operator]
    assert newsletter["entity"] == "Medical Protection Society"
    assert status == 2
    assert "Scanned 3 messages (folder of .eml files)" in err


def test_summary_table_counts(eml_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _status, _records, err = run_scan(capsys, "--workers", "1", str(eml_folder))
    rows = {line.split()[0]: line.split()[1] for line in err.splitlines()[2:] if line.strip()}
    assert rows == {"verdict": "messages", "authentic": "1", "unverified": "1", "impersonation": "1", "total": "3"}


def test_summary_on_stdout_with_output_file(eml_folder: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "results.jsonl"
    main(["scan", *SNAPSHOT, "--workers", "1", "--output", str(output), str(eml_folder)])
    captured = capsys.readouterr()
    assert len(output.read_text().splitlines()) == 3
    assert captured.out.startswith("Scanned 3 messages")
    assert captured.err == ""


def test_two_workers_same_output(maildir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one_worker = run_scan(capsys, "--workers", "1", str(maildir))
    two_workers = run_scan(capsys, "--workers", "2", str(maildir))
    assert two_workers[1] == one_worker[1]
    assert two_workers[0] == one_worker[0]


def test_many_messages_keep_input_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(40):
        name = ("newsletter", "spoofed", "lookalike")[number % 3]
        (folder / f"{number:03d}.eml").write_bytes(example(name))
    _status, records, _err = run_scan(capsys, "--workers", "2", str(folder))
    assert [record["key"] for record in records] == [f"{number:03d}.eml" for number in range(40)]
    assert [record["verdict"] for record in records] == [
        EXPECTED[("newsletter", "spoofed", "lookalike")[number % 3]] for number in range(40)]


def test_mbox_scan_verdicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "inbox.mbox"
    path.write_bytes(mbox_bytes(example("newsletter"), example("lookalike")))
    _status, records, _err = run_scan(capsys, "--workers", "1", str(path))
    assert [record["verdict"] for record in records] == ["authentic", "impersonation"]


def test_no_progress_bar_without_terminal(eml_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _status, _records, err = run_scan(capsys, "--workers", "1", str(eml_folder))
    assert "\r" not in err
    assert "msg/s" not in err


def test_progress_bar_draws_and_clears() -> None:
    stream = io.StringIO()
    bar = ProgressBar(2, stream, enabled=True)
    bar.advance()
    bar.advance()
    assert "2/2" in stream.getvalue()
    assert "100%" in stream.getvalue()
    bar.clear()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_unreadable_message_is_error_line(tmp_path: Path) -> None:
    from mpsverify import scan
    from mpsverify.cli import build_parser

    scan._init_worker(build_parser().parse_args(["scan", *SNAPSHOT, str(tmp_path)]))
    label, line = check_message(MessageRef("gone.eml", str(tmp_path / "gone.eml")))
    record = json.loads(line)
    assert label == READ_ERROR
    assert record["error"].startswith("cannot read the message:")


def test_missing_path_exits_66(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", *SNAPSHOT, str(tmp_path / "missing")]) == 66


def test_bad_snapshot_exits_78(eml_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "dns.yaml"
    bad.write_text("[not, a, mapping]")
    assert main(["scan", "--dns-snapshot", str(bad), str(eml_folder)]) == 78


def test_zero_workers_is_usage_error(eml_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", *SNAPSHOT, "--workers", "0", str(eml_folder)]) == 64
