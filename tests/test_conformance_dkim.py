"""Verify the published DKIM sample messages with verify_all, using the keys shipped with them.

real-001 is signed with both ed25519-sha256 and rsa-sha256, and the others are
real signed messages. Every RSA key in the samples has 1024 bits, the RFC 8301
minimum, so none is reported as weak.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from conformance_support import SampleMessage, conformance_root, load_sample, require_suite
from mpsverify.dkim_verify import verify_all
from mpsverify.results import Status

SUITE_FOLDER = require_suite("dkim/real-001.txt").parent

#: Number of DKIM-Signature fields in each sample.
SIGNATURE_COUNTS = {
    "real-001.txt": 2,
    "real-002.txt": 1,
    "real-003.txt": 2,
    "real-004.txt": 1,
    "real-005.txt": 1,
    "real-006.txt": 1,
}

# real-005 was signed at t=1667843664 with x=1667930064 (2022-11-08 17:54:24 UTC),
# so it verifies only when checked inside that day.
CHECK_TIMES = {
    "real-005.txt": datetime(2022, 11, 8, 0, 0, tzinfo=timezone.utc),
}


def _sample_names() -> list[str]:
    return sorted(path.name for path in SUITE_FOLDER.glob("real-*.txt"))


def _load(name: str) -> SampleMessage:
    return load_sample(SUITE_FOLDER / name)


def test_dkim_suite_files_known() -> None:
    assert set(_sample_names()) == set(SIGNATURE_COUNTS), f"samples in {conformance_root() / 'dkim'} changed"


@pytest.mark.parametrize("name", _sample_names())
def test_dkim_sample_verifies(name: str) -> None:
    sample = _load(name)

    results, total = verify_all(sample.raw, sample.resolver(), now=CHECK_TIMES.get(name))

    assert total == SIGNATURE_COUNTS[name]
    assert len(results) == total
    for result in results:
        assert result.status is Status.PASS, f"{result.domain} s={result.selector}: {result.detail}"
        assert not result.weak_key
        if result.algorithm == "rsa-sha256":
            assert result.key_bits >= 1024


def test_dkim_rfc8463_example_both_algorithms() -> None:
    results, _total = verify_all(_load("real-001.txt").raw, _load("real-001.txt").resolver())

    assert sorted(result.algorithm for result in results) == ["ed25519-sha256", "rsa-sha256"]


def test_dkim_expired_signature_rejected() -> None:
    results, _total = verify_all(_load("real-005.txt").raw, _load("real-005.txt").resolver())

    assert [result.status for result in results] == [Status.PERMERROR]
    assert "expired" in results[0].detail


def test_dkim_signature_from_future_rejected() -> None:
    # real-004 was signed at t=1667862801 (2022-11-07 23:13:21 UTC). A check a
    # day earlier is beyond the ten hours of clock skew allowed.
    earlier = datetime(2022, 11, 6, 23, 0, tzinfo=timezone.utc)

    results, _total = verify_all(_load("real-004.txt").raw, _load("real-004.txt").resolver(), now=earlier)

    assert [result.status for result in results] == [Status.PERMERROR]
    assert "future" in results[0].detail

