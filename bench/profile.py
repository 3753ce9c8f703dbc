"""Profile mpsverify over a built corpus and print where the time goes.

    .venv/bin/python -m bench.profile [CORPUS-DIR] [--limit N] [--top N]

The corpus defaults to ``bench/out/corpus-2000`` (built by ``python -m bench``).
cProfile adds overhead to every Python call, so the shares, not the absolute
times, are what to read. Stages are the cumulative times of the functions that
:class:`mpsverify.verify.Verifier` calls for each check.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
from pathlib import Path
from typing import Any

from .corpus import Envelope
from .tools import MpsverifyTool

ROOT = Path(__file__).resolve().parent.parent

#: (label, file name ending, function name) of each stage of Verifier.verify.
STAGES = [
    ("parse the message", "mpsverify/message.py", "parse_message"),
    ("From field", "mpsverify/verify.py", "author"),
    ("SPF", "mpsverify/verify.py", "spf"),
    ("DKIM", "mpsverify/verify.py", "dkim"),
    ("ARC", "mpsverify/verify.py", "arc"),
    ("Authentication-Results", "mpsverify/verify.py", "authres"),
    ("DMARC", "mpsverify/verify.py", "dmarc"),
    ("content analysis", "mpsverify/content/__init__.py", "analyse_content"),
]


def stage_shares(stats: pstats.Stats) -> tuple[float, list[tuple[str, float]]]:
    """Return the total time in Verifier.verify and each stage's cumulative time."""
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = 0.0
    found = {label: 0.0 for label, _, _ in STAGES}
    for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in table.items():
        if filename.endswith("mpsverify/verify.py") and function == "verify":
            total += cumulative
        for label, ending, name in STAGES:
            if filename.endswith(ending) and function == name:
                found[label] += cumulative
    return total, list(found.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("corpus", type=Path, nargs="?", default=ROOT / "bench" / "out" / "corpus-2000")
    parser.add_argument("--limit", type=int, help="profile only the first N messages")
    parser.add_argument("--top", type=int, default=25, help="functions listed by own time (default 25)")
    args = parser.parse_args(argv)
    manifest = [json.loads(line) for line in (args.corpus / "manifest.jsonl").read_text().splitlines() if line]
    manifest = manifest[: args.limit] if args.limit else manifest
    tool = MpsverifyTool(args.corpus / "dns.yaml")
    messages = [((args.corpus / entry["file"]).read_bytes(), Envelope(entry["client_ip"], entry["helo"],
                                                                      entry["mail_from"])) for entry in manifest]
    for data, envelope in messages[:20]:
        tool.check(data, envelope)
    profiler = cProfile.Profile()
    profiler.enable()
    for data, envelope in messages:
        tool.check(data, envelope)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total, stages = stage_shares(stats)
    print(f"{len(messages)} messages, {total:.2f} s in Verifier.verify under cProfile")
    print(f"{'stage':<26}{'seconds':>9}{'share':>8}")
    for label, seconds in stages:
        print(f"{label:<26}{seconds:>9.2f}{seconds / total:>8.1%}")
    print()
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
