"""Every acceptance case through the Python API, with its expected verdict and reasons.

The cases live beside the project (../shared/acceptance); these tests skip when
that folder is absent. The command-line runner checks the same cases through the
installed command.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml

from mpsverify import Settings, Verifier
from mpsverify.allowlist import load_allowlist
from mpsverify.resolver import SnapshotResolver
from mpsverify.spf import Envelope

from conftest import ACCEPTANCE

CASES = sorted(p.name for p in (ACCEPTANCE / "cases").glob("*") if (p / "case.yaml").exists()) \
    if (ACCEPTANCE / "cases").is_dir() else []


def run_case(folder: Path) -> tuple[dict[str, object], object]:
    case = yaml.safe_load((folder / "case.yaml").read_text())
    envelope = case.get("envelope") or {}
    verifier = Verifier(
        load_allowlist(folder / case["allowlist"]),
        SnapshotResolver.from_file(folder / case["dns"]),
        Settings(tuple(case.get("trust_authserv_ids", [])), tuple(case.get("trust_arc_sealers", []))),
    )
    now = datetime.fromisoformat(case["now"]) if case.get("now") else None
    result = verifier.verify((folder / "message.eml").read_bytes(),
                             Envelope(envelope.get("client_ip"), envelope.get("helo"), envelope.get("mail_from")),
                             now)
    return case["expect"], result


@pytest.mark.skipif(not CASES, reason=f"acceptance cases not found at {ACCEPTANCE}")
@pytest.mark.parametrize("name", CASES)
def test_acceptance_case(name: str) -> None:
    expected, result = run_case(ACCEPTANCE / "cases" / name)
    if "exit_status" in expected:
        assert expected["exit_status"] == 65
        assert "message.not-email" in result.codes()  # type: ignore[attr-defined]
        return
    allowed = expected["verdict"] if isinstance(expected["verdict"], list) else [expected["verdict"]]
    assert result.verdict.value in allowed  # type: ignore[attr-defined]
    missing = set(expected.get("reasons", [])) - result.codes()  # type: ignore[attr-defined, operator]
    assert not missing
