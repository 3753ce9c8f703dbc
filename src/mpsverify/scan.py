"""The ``mpsverify scan`` command: check every message in a mailbox, in parallel.

PATH may be a Maildir (a folder with ``cur/`` or ``new/``), an mbox file, a folder
of ``.eml`` files (searched recursively) or a single message file. Worker
processes check the messages, each with its own :class:`~mpsverify.verify.Verifier`
built once, so DNS answers are cached per worker. One JSON object per message is
written in input order (JSON Lines), and a table of verdict counts follows at the
end: on standard error when the JSON Lines go to standard output, else on standard
output. A progress bar is drawn on standard error only when it is a terminal.

Exit statuses:
  0   every message was read, and none is suspicious, spoofed or impersonation
  1   some message could not be read
  2   some message is suspicious, spoofed or impersonation (wins over 1)
  66  PATH cannot be read
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .results import Verdict
from .spf import Envelope
from .verify import Verifier

#: Verdicts that make the scan exit with status 2.
_DANGER = frozenset({Verdict.SUSPICIOUS.value, Verdict.SPOOFED.value, Verdict.IMPERSONATION.value})
#: Label counted in the summary for a message that could not be read.
READ_ERROR = "read error"
#: Messages sent to a worker in one task; small enough to keep both cores busy to the end.
_CHUNK = 8
#: Tasks queued per worker, so output stays in order without holding the whole mailbox.
_QUEUED_PER_WORKER = 4


@dataclass(frozen=True)
class MessageRef:
    """Location of one message: a whole file, or a byte range of an mbox file."""

    #: Name in the output: the Maildir key, the path below an .eml folder, or "mbox:N".
    key: str
    path: str
    #: Byte range of the message in an mbox file, its "From " line included; None for a whole file.
    span: tuple[int, int] | None = None


def add_scan_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """Add the ``scan`` subcommand to the ``mpsverify`` parser."""
    from .cli import add_envelope_options, add_source_options

    scan = commands.add_parser(
        "scan", help="check every message in a Maildir, an mbox file or a folder of .eml files",
        description="Check every message in a Maildir, an mbox file or a folder of .eml files in "
        "parallel, write one JSON object per message (JSON Lines) and a table of verdicts at the end. "
        "Envelope options, when given, apply to every message.",
        epilog="Exit status: 0 when nothing is suspicious, spoofed or impersonation; 1 when some "
        "message could not be read; 2 when any message is suspicious, spoofed or impersonation; "
        "66 when PATH cannot be read.")
    add_source_options(scan)
    add_envelope_options(scan)
    scan.add_argument("--workers", metavar="N", type=_positive_int, default=None,
                      help="worker processes (default: the number of usable CPU cores)")
    scan.add_argument("-o", "--output", metavar="FILE",
                      help="write the JSON Lines to FILE instead of standard output")
    scan.add_argument("--no-progress", action="store_true", help="never draw the progress bar")
    scan.add_argument("path", metavar="PATH", help="a Maildir, an mbox file, a folder of .eml files or one message")
    scan.set_defaults(handler=run_scan)


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return number


def usable_cores() -> int:
    """Return the number of CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# Finding messages


def find_messages(path: Path) -> tuple[str, list[MessageRef]]:
    """Return the mailbox format of ``path`` and its messages in a stable order.

    Raises OSError when ``path`` cannot be read.
    """
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            return "Maildir", _maildir_messages(path)
        files = sorted(file for file in path.rglob("*.eml") if file.is_file())
        return "folder of .eml files", [MessageRef(str(file.relative_to(path)), str(file)) for file in files]
    with path.open("rb") as handle:
        head = handle.read(5)
    if head == b"From ":
        return "mbox", _mbox_messages(path)
    return "message file", [MessageRef(path.name, str(path))]


def _maildir_messages(path: Path) -> list[MessageRef]:
    refs = []
    for folder in ("new", "cur"):
        directory = path / folder
        if not directory.is_dir():
            continue
        for file in sorted(directory.iterdir()):
            # Names starting with a dot are temporary files of mail clients (Maildir convention).
            if file.name.startswith(".") or not file.is_file():
                continue
            refs.append(MessageRef(file.name.split(":", 1)[0], str(file)))
    return refs


def _mbox_messages(path: Path) -> list[MessageRef]:
    """Split an mbox file at "From " lines that start the file or follow an empty line."""
    starts: list[int] = []
    offset = 0
    previous_empty = True
    with path.open("rb") as handle:
        for line in handle:
            if previous_empty and line.startswith(b"From "):
                starts.append(offset)
            previous_empty = line in (b"\n", b"\r\n")
            offset += len(line)
    stops = starts[1:] + [offset]
    return [MessageRef(f"mbox:{index + 1}", str(path), (start, stop))
            for index, (start, stop) in enumerate(zip(starts, stops))]


_MBOX_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


def read_message(ref: MessageRef) -> bytes:
    """Read the raw bytes of one message; raises OSError."""
    if ref.span is None:
        return Path(ref.path).read_bytes()
    start, stop = ref.span
    with open(ref.path, "rb") as handle:
        handle.seek(start)
        data = handle.read(stop - start)
    newline = data.find(b"\n")
    data = data[newline + 1:] if newline >= 0 else b""
    # The empty line that separates one mbox message from the next is not part of it.
    if data.endswith(b"\r\n\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n\n"):
        data = data[:-1]
    # NOTE: undoes mboxrd quoting (">From " written for "From "). A file written
    # in the older mboxo format loses one ">" from lines that had ">From " in the
    # original, which changes those bodies and can break their DKIM body hash.
    return _MBOX_QUOTED_FROM.sub(rb"\1", data)


# Checking messages, in this process or in a worker


_worker_verifier: Verifier | None = None
_worker_envelope = Envelope()
_worker_now: Any = None


def _init_worker(args: argparse.Namespace) -> None:
    """Build this process's Verifier once; the pool runs it in each worker."""
    from .cli import make_verifier

    global _worker_verifier, _worker_envelope, _worker_now
    _worker_verifier = make_verifier(args)
    _worker_envelope = Envelope(args.client_ip, args.helo, args.mail_from)
    _worker_now = args.now


def check_message(ref: MessageRef) -> tuple[str, str]:
    """Check one message with this process's Verifier; return (verdict or error label, JSON line)."""
    assert _worker_verifier is not None, "_init_worker must run first"
    record: dict[str, Any] = {"key": ref.key, "path": ref.path}
    try:
        data = read_message(ref)
    except OSError as error:
        record["error"] = f"cannot read the message: {error.strerror or error}"
        return READ_ERROR, json.dumps(record, ensure_ascii=False)
    result = _worker_verifier.verify(data, _worker_envelope, _worker_now)
    record["verdict"] = result.verdict.value
    record["author"] = result.author.address if result.author else None
    record["entity"] = result.entity or result.claimed_entity or None
    record["reasons"] = [reason.code for reason in result.reasons]
    return result.verdict.value, json.dumps(record, ensure_ascii=False)


def _check_chunk(refs: Sequence[MessageRef]) -> list[tuple[str, str]]:
    return [check_message(ref) for ref in refs]


def _chunks(refs: Sequence[MessageRef], size: int) -> Iterator[Sequence[MessageRef]]:
    for start in range(0, len(refs), size):
        yield refs[start: start + size]


def check_all(refs: Sequence[MessageRef], args: argparse.Namespace, workers: int) -> Iterator[tuple[str, str]]:
    """Yield (label, JSON line) for every message, in input order.

    With one worker the messages are checked in this process. Otherwise a pool of
    ``workers`` processes checks chunks of messages while this process writes.
    """
    if workers <= 1:
        _init_worker(args)
        for ref in refs:
            yield check_message(ref)
        return
    with concurrent.futures.ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(args,)) as pool:
        pending: collections.deque[concurrent.futures.Future[list[tuple[str, str]]]] = collections.deque()
        chunks = _chunks(refs, _CHUNK)
        try:
            for chunk in chunks:
                pending.append(pool.submit(_check_chunk, chunk))
                if len(pending) >= workers * _QUEUED_PER_WORKER:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


# Progress and summary


class ProgressBar:
    """A one-line progress bar on a terminal, redrawn at most ten times a second."""

    def __init__(self, total: int, stream: IO[str], enabled: bool) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.enabled = enabled
        self.started = time.monotonic()
        self._drawn_at = 0.0
        self._visible = False

    def advance(self) -> None:
        self.done += 1
        if self.enabled and (time.monotonic() - self._drawn_at >= 0.1 or self.done == self.total):
            self.draw()

    def draw(self) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        fraction = self.done / self.total if self.total else 1.0
        remaining = (self.total - self.done) / rate if rate else 0.0
        text = f" {self.done}/{self.total} {fraction:4.0%} {rate:6.0f} msg/s  {remaining:4.0f} s left"
        width = max(10, min(60, shutil.get_terminal_size((80, 24)).columns - len(text) - 3))
        filled = int(width * fraction)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}]{text}")
        self.stream.flush()
        self._drawn_at = time.monotonic()
        self._visible = True

    def clear(self) -> None:
        """Erase the bar so that other output can use the line."""
        if self._visible:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._visible = False


_SUMMARY_ORDER = [verdict.value for verdict in Verdict] + [READ_ERROR]


def format_summary(counts: collections.Counter[str], seconds: float, mailbox_format: str, workers: int) -> str:
    """Render the verdict counts as a plain-text table."""
    total = sum(counts.values())
    lines = [f"Scanned {total} messages ({mailbox_format}) in {seconds:.1f} s with {workers} "
             f"worker{'s' if workers != 1 else ''}: {total / seconds if seconds else 0.0:.0f} messages/s", "",
             f"{'verdict':<15}{'messages':>10}{'share':>9}"]
    for label in _SUMMARY_ORDER:
        if counts[label]:
            lines.append(f"{label:<15}{counts[label]:>10}{counts[label] / total:>9.1%}")
    lines.append(f"{'total':<15}{total:>10}")
    return "\n".join(lines)


def run_scan(args: argparse.Namespace) -> int:
    """Run ``mpsverify scan``; return the exit status."""
    from .cli import make_verifier

    mailbox_format, refs = find_messages(Path(args.path))
    # Build one Verifier here first so that a bad allowlist or snapshot is reported
    # once, as a configuration error, instead of failing inside every worker.
    make_verifier(args)
    workers = min(args.workers or usable_cores(), max(1, len(refs)))
    output: IO[str] = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    progress = ProgressBar(len(refs), sys.stderr, sys.stderr.isatty() and not args.no_progress)
    output_is_terminal = output.isatty()
    counts: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    try:
        for label, line in check_all(refs, args, workers):
            if output_is_terminal:
                progress.clear()
            output.write(line + "\n")
            counts[label] += 1
            progress.advance()
    finally:
        progress.clear()
        if output is not sys.stdout:
            output.close()
        else:
            output.flush()
    summary = format_summary(counts, time.monotonic() - started, mailbox_format, workers)
    print(summary, file=sys.stderr if output is sys.stdout else sys.stdout)
    if any(counts[label] for label in _DANGER):
        return 2
    return 1 if counts[READ_ERROR] else 0
