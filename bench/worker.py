"""One measurement in a fresh process, so peak memory and imports belong to one tool.

Run by the benchmark runner, not by hand::

    python -m bench.worker corpus TOOL CORPUS-DIR [--limit N] [--warmup N] [--cpu N]
    python -m bench.worker single TOOL MESSAGE-FILE SNAPSHOT CLIENT-IP HELO MAIL-FROM [--repeat N]

Each prints one JSON object on standard output. Each check of one message
already in memory is timed twice: CPU time of this process (``time.process_time``),
which other programs on the machine barely disturb, and wall time
(``time.perf_counter``). Peak memory is the process's peak resident set size
(``VmHWM`` in ``/proc/self/status``), read before ``tracemalloc`` is switched
on. ``getrusage``'s ``ru_maxrss`` is not used: Linux carries it over from the
parent process across ``exec``, so it would report the runner's size.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from . import tools
from .corpus import Envelope


def _peak_rss_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    # Elsewhere, fall back to getrusage (KiB on Linux, bytes on macOS).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of sorted ``values``."""
    if not values:
        return 0.0
    rank = max(0, min(len(values) - 1, int(round(fraction * len(values) + 0.5)) - 1))
    return values[rank]


def _pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def run_corpus(tool_name: str, corpus: Path, limit: int | None, warmup: int) -> dict[str, Any]:
    """Check every message of the corpus once and summarise the latencies."""
    manifest = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines() if line]
    if limit:
        manifest = manifest[:limit]
    tool = tools.TOOLS[tool_name](corpus / "dns.yaml")

    def load(entry: dict[str, Any]) -> tuple[bytes, Envelope]:
        data = (corpus / entry["file"]).read_bytes()
        return data, Envelope(entry["client_ip"], entry["helo"], entry["mail_from"])

    # Warm-up: imports, lazy tables and the DNS cache fill before timing starts.
    for entry in manifest[:warmup]:
        tool.check(*load(entry))
    latencies: list[float] = []
    wall_latencies: list[float] = []
    by_kind: dict[str, list[float]] = collections.defaultdict(list)
    labels: collections.Counter[str] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    started = time.perf_counter()
    for entry in manifest:
        data, envelope = load(entry)
        wall_before, cpu_before = time.perf_counter(), time.process_time()
        try:
            label = tool.check(data, envelope)
        except Exception as error:  # noqa: BLE001 - a peer's crash is a measured outcome
            label = "error"
            errors[type(error).__name__] += 1
        cpu = time.process_time() - cpu_before
        wall_latencies.append(time.perf_counter() - wall_before)
        latencies.append(cpu)
        by_kind[entry["kind"]].append(cpu)
        labels[f"{entry['sender_kind']}:{label}"] += 1
    wall = time.perf_counter() - started
    latencies.sort()
    wall_latencies.sort()
    return {
        "tool": tool_name, "messages": len(latencies), "cpu_seconds": sum(latencies),
        "check_wall_seconds": sum(wall_latencies), "wall_seconds": wall,
        "messages_per_second": len(latencies) / sum(latencies) if latencies else 0.0,
        "messages_per_wall_second": len(latencies) / sum(wall_latencies) if latencies else 0.0,
        "median_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p99_ms": percentile(latencies, 0.99) * 1000, "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        "wall_median_ms": statistics.median(wall_latencies) * 1000 if latencies else 0.0,
        "wall_p99_ms": percentile(wall_latencies, 0.99) * 1000,
        "median_ms_by_kind": {kind: statistics.median(values) * 1000 for kind, values in sorted(by_kind.items())},
        "peak_rss_bytes": _peak_rss_bytes(), "labels": dict(sorted(labels.items())), "errors": dict(errors),
        "network_attempts": tools.network_attempts,
    }


def run_single(tool_name: str, message_file: Path, snapshot: Path, envelope: Envelope,
               repeat: int) -> dict[str, Any]:
    """Time one message ``repeat`` times, then measure its memory once."""
    tool = tools.TOOLS[tool_name](snapshot)
    data = message_file.read_bytes()
    baseline = _peak_rss_bytes()
    times: list[float] = []
    wall_times: list[float] = []
    label = ""
    error = ""
    for _ in range(repeat):
        wall_before, cpu_before = time.perf_counter(), time.process_time()
        try:
            label = tool.check(data, envelope)
        except Exception as caught:  # noqa: BLE001 - a peer's crash is a measured outcome
            error = f"{type(caught).__name__}: {str(caught)[:200]}"
        times.append(time.process_time() - cpu_before)
        wall_times.append(time.perf_counter() - wall_before)
    peak = _peak_rss_bytes()
    tracemalloc.start()
    try:
        tool.check(data, envelope)
    except Exception:  # noqa: BLE001 - already recorded above
        pass
    _current, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "tool": tool_name, "size": len(data), "repeat": repeat, "best_seconds": min(times),
        "median_seconds": statistics.median(times), "best_wall_seconds": min(wall_times),
        "label": label, "error": error,
        "rss_before_bytes": baseline, "peak_rss_bytes": peak, "traced_peak_bytes": traced_peak,
        "network_attempts": tools.network_attempts,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    modes = parser.add_subparsers(dest="mode", required=True)
    corpus = modes.add_parser("corpus")
    corpus.add_argument("tool", choices=sorted(tools.TOOLS))
    corpus.add_argument("corpus", type=Path)
    corpus.add_argument("--limit", type=int)
    corpus.add_argument("--warmup", type=int, default=20)
    corpus.add_argument("--cpu", type=int)
    single = modes.add_parser("single")
    single.add_argument("tool", choices=sorted(tools.TOOLS))
    single.add_argument("message", type=Path)
    single.add_argument("snapshot", type=Path)
    single.add_argument("client_ip")
    single.add_argument("helo")
    single.add_argument("mail_from")
    single.add_argument("--repeat", type=int, default=3)
    single.add_argument("--cpu", type=int)
    args = parser.parse_args(argv)
    _pin(args.cpu)
    tools.forbid_network()
    if args.mode == "corpus":
        result = run_corpus(args.tool, args.corpus, args.limit, args.warmup)
    else:
        envelope = Envelope(args.client_ip, args.helo, args.mail_from)
        result = run_single(args.tool, args.message, args.snapshot, envelope, args.repeat)
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
