"""Shared fixtures: paths to the acceptance material beside the project, when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MPSVERIFY_SHARED", PROJECT.parent / "shared"))
ACCEPTANCE = SHARED / "acceptance"
EXAMPLES = PROJECT / "examples"


def require_acceptance() -> Path:
    """Return the acceptance folder, or skip the test when it is absent."""
    if not (ACCEPTANCE / "cases").is_dir():
        pytest.skip(f"acceptance cases not found at {ACCEPTANCE}")
    return ACCEPTANCE


@pytest.fixture
def acceptance() -> Path:
    return require_acceptance()
