"""Live-mode acceptance comparison against a real DNS server on loopback.

``.ci/services start`` serves each acceptance DNS snapshot from its own Unbound
instance on 127.0.0.1 and writes servers.json, which maps the snapshot's file
name to its port. Each acceptance case is verified twice: once with
SnapshotResolver reading the file, and once with LiveResolver querying the
server. The two verdicts must match. The tests skip when the acceptance folder or the servers
are missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from mpsverify import Envelope, LiveResolver, Settings, SnapshotResolver, Verification, Verifier, load_allowlist
from mpsverify.resolver import Resolver

PROJECT = Path(__file__).resolve().parents[1]
ACCEPTANCE = Path(os.environ.get("MPSVERIFY_SHARED", PROJECT.parent / "shared")) / "acceptance"
STATE = Path(os.environ.get("MPSVERIFY_DNS_STATE", "/tmp/mpsverify-dns"))
CASES = sorted(path.parent for path in (ACCEPTANCE / "cases").glob("*/case.yaml"))
#: Seconds per live query; a reply over loopback takes about a millisecond.
QUERY_TIMEOUT = 2.0

# Codes whose presence may differ between the modes for a documented reason:
# none at present. tests/dnszones.py lists where Unbound cannot copy a snapshot.
MODE_DEPENDENT_CODES: frozenset[str] = frozenset()


def server_ports() -> dict[str, int]:
    """Return {snapshot file name: port}, or skip when the servers are not running."""
    if not CASES:
        pytest.skip(f"acceptance cases not found at {ACCEPTANCE}")
    listing = STATE / "servers.json"
    if not listing.is_file():
        pytest.skip(f"the loopback DNS servers are not running ({listing} is missing; run .ci/services start)")
    ports: dict[str, int] = json.loads(listing.read_text(encoding="utf-8"))
    if not ports:
        pytest.skip(f"{listing} lists no DNS server")
    probe = LiveResolver(["127.0.0.1"], next(iter(ports.values())), 1.0).query("probe.invalid", "A")
    if probe.is_temporary_failure:
        pytest.skip(f"the loopback DNS server on port {next(iter(ports.values()))} does not answer "
                    f"({probe.describe}); run .ci/services start")
    return ports


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    return server_ports()


def load_case(folder: Path) -> dict[str, Any]:
    case: dict[str, Any] = yaml.safe_load((folder / "case.yaml").read_text(encoding="utf-8"))
    return case


def run_case(folder: Path, resolver: Resolver) -> Verification:
    """Verify one acceptance case through the Python API with ``resolver``."""
    case = load_case(folder)
    settings = Settings(tuple(case.get("trust_authserv_ids", [])), tuple(case.get("trust_arc_sealers", [])))
    verifier = Verifier(load_allowlist(folder / case["allowlist"]), resolver, settings)
    envelope_fields = case.get("envelope") or {}
    envelope = Envelope(envelope_fields.get("client_ip"), envelope_fields.get("helo"),
                        envelope_fields.get("mail_from"))
    now = datetime.fromisoformat(case["now"]) if case.get("now") else None
    return verifier.verify((folder / "message.eml").read_bytes(), envelope, now)


def snapshot_file(folder: Path) -> Path | None:
    case = load_case(folder)
    return (folder / case["dns"]).resolve() if case.get("dns") else None


@pytest.mark.parametrize("folder", CASES, ids=[folder.name for folder in CASES])
def test_live_verdict_matches_snapshot(folder: Path, ports: dict[str, int]) -> None:
    snapshot = snapshot_file(folder)
    if snapshot is None:
        pytest.skip("the case has no DNS snapshot")
    assert snapshot.name in ports, f"no loopback server serves {snapshot.name}; rerun .ci/services start"
    offline = run_case(folder, SnapshotResolver.from_file(snapshot))
    live = run_case(folder, LiveResolver(["127.0.0.1"], ports[snapshot.name], QUERY_TIMEOUT))

    assert live.verdict == offline.verdict
    assert live.codes() - MODE_DEPENDENT_CODES == offline.codes() - MODE_DEPENDENT_CODES


# A few cases through the command line, so --dns-server and --dns-port are covered.
CLI_CASES = ["authentic-dental-ed25519", "spoofed-helo-spf", "unverified-dns-failure"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_live_verdict_matches_snapshot(name: str, ports: dict[str, int]) -> None:
    folder = ACCEPTANCE / "cases" / name
    if not folder.is_dir():
        pytest.skip(f"acceptance case {name} not found")
    case = load_case(folder)
    snapshot = snapshot_file(folder)
    assert snapshot is not None
    base = [sys.executable, "-m", "mpsverify", "check", "--json", "--allowlist", str(folder / case["allowlist"])]
    for key, flag in (("client_ip", "--client-ip"), ("helo", "--helo"), ("mail_from", "--mail-from")):
        if key in (case.get("envelope") or {}):
            base += [flag, case["envelope"][key]]
    for authserv_id in case.get("trust_authserv_ids", []):
        base += ["--trust-authserv-id", authserv_id]
    for sealer in case.get("trust_arc_sealers", []):
        base += ["--trust-arc-sealer", sealer]
    if case.get("now"):
        base += ["--now", case["now"]]
    message = str(folder / "message.eml")
    offline = subprocess.run(base + ["--dns-snapshot", str(snapshot), message],
                             capture_output=True, text=True, timeout=60)
    live = subprocess.run(base + ["--dns-server", "127.0.0.1", "--dns-port", str(ports[snapshot.name]),
                                  "--dns-timeout", str(QUERY_TIMEOUT), message],
                          capture_output=True, text=True, timeout=60)

    assert "Traceback" not in live.stderr
    assert live.returncode == offline.returncode
    assert json.loads(live.stdout)["verdict"] == json.loads(offline.stdout)["verdict"]
    assert json.loads(live.stdout)["verdict"] == case["expect"]["verdict"]
