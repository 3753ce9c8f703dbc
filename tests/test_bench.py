"""Smoke test of the benchmark on a tiny corpus: it builds, runs and reports. No timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from bench import __main__ as runner  # noqa: E402
from bench import corpus, worker  # noqa: E402

HAVE_AUTHHEADERS = importlib.util.find_spec("authheaders") is not None


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    corpus.build_corpus(folder, 12, seed=5)
    return folder


def test_corpus_has_messages_and_snapshot(tiny_corpus: Path) -> None:
    manifest = [json.loads(line) for line in (tiny_corpus / "manifest.jsonl").read_text().splitlines()]
    snapshot = yaml.safe_load((tiny_corpus / "dns.yaml").read_text())
    assert len(manifest) == 12
    assert all((tiny_corpus / entry["file"]).stat().st_size == entry["size"] for entry in manifest)
    assert "_dmarc.medicalprotection.org" in snapshot
    assert snapshot["mps2026._domainkey.medicalprotection.org"]["TXT"][0].startswith("v=DKIM1; k=rsa;")


def test_corpus_info_matches_manifest(tiny_corpus: Path) -> None:
    info = corpus.load_info(tiny_corpus)
    assert info is not None
    assert info["count"] == 12
    assert info["size_min"] >= corpus.MIN_SIZE


def test_mpsverify_checks_tiny_corpus(tiny_corpus: Path) -> None:
    result = worker.run_corpus("mpsverify", tiny_corpus, limit=None, warmup=2)
    assert result["messages"] == 12
    assert result["errors"] == {}
    assert "organisation:authentic" in result["labels"]
    assert "spoofed:authentic" not in result["labels"]


@pytest.mark.skipif(not HAVE_AUTHHEADERS, reason="authheaders is not installed (the bench extra)")
def test_authheaders_worker_and_ratio(tiny_corpus: Path) -> None:
    results = {tool: runner._worker(["corpus", tool, str(tiny_corpus), "--warmup", "1"])
               for tool in ("mpsverify", "authheaders")}
    assert results["authheaders"]["errors"] == {}
    assert results["authheaders"]["network_attempts"] == 0
    assert runner.memoised_ratio_line(results).endswith("x")
    results["mpsverify-sample"] = results["mpsverify"]
    results["authheaders-as-shipped"] = results["authheaders"]
    assert runner.ratio_line(results).startswith("throughput ratio vs authheaders: ")
    assert runner.ratio_line(results).endswith("x")


def test_ratio_line_without_peer() -> None:
    assert runner.ratio_line({"mpsverify": {"messages_per_second": 5.0}}) == "throughput ratio vs authheaders: n/a"


def test_scaling_and_pathological_run(tmp_path: Path) -> None:
    rows = runner.scaling(tmp_path, [1024], ["mpsverify"])
    assert rows[0]["label"] == "authentic"
    assert rows[0]["network_attempts"] == 0
    inputs = corpus.pathological_messages(tmp_path)
    assert sorted(inputs) == ["1 MB header line", "1,000 nested parts", "10,000 header fields", "100,000 links"]
    assert len(inputs["1 MB header line"][0]) > 1024 * 1024
