"""Run the RFC 7208 SPF test suite (openspf.org release 2014.04, pyspf's copy) through check_spf.

Each YAML document is a scenario with zone data and tests. A test gives the
client address (host), HELO name, MAIL FROM and the acceptable results. An empty
MAIL FROM is the null reverse-path, so the HELO identity is checked.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance_support import ZoneResolver, case_id, load_yaml_documents, require_suite
import spf as pyspf
from mpsverify.results import SpfResult, Status
from mpsverify.spf import Envelope, check_spf

SUITE = require_suite("spf/rfc7208-tests.yml")

# Tests our layer fails because of a defect in src/mpsverify/spf.py, by test name.
# Suite tests our layer is known to fail, mapped to the cause; each is a strict xfail.
KNOWN_FAILURES: dict[str, str] = {}


def _cases(with_explanation: bool = False) -> list[Any]:
    cases = []
    for scenario in load_yaml_documents(SUITE):
        resolver_data = scenario["zonedata"]
        for name, test in scenario["tests"].items():
            if with_explanation and "explanation" not in test:
                continue
            marks = []
            if name in KNOWN_FAILURES:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[name]))
            cases.append(pytest.param(resolver_data, test, id=case_id(scenario["description"], name),
                                      marks=marks))
    return cases


def _check(test: dict[str, Any], zonedata: dict[str, Any]) -> SpfResult:
    envelope = Envelope(client_ip=str(test["host"]), helo=str(test["helo"]), mail_from=str(test["mailfrom"]))
    return check_spf(envelope, ZoneResolver(zonedata))


def _expected(test: dict[str, Any]) -> set[Status]:
    results = test["result"] if isinstance(test["result"], list) else [test["result"]]
    return {Status(str(result)) for result in results}


@pytest.mark.parametrize(("zonedata", "test"), _cases())
def test_spf_suite_result(zonedata: dict[str, Any], test: dict[str, Any]) -> None:
    result = _check(test, zonedata)

    assert result.status in _expected(test), (
        f"expected {sorted(status.value for status in _expected(test))}, "
        f"got {result.status.value}: {result.explanation}")


@pytest.mark.parametrize(("zonedata", "test"), _cases(with_explanation=True))
def test_spf_suite_explanation(zonedata: dict[str, Any], test: dict[str, Any]) -> None:
    # The suite's driver sets the default explanation to "DEFAULT", but
    # check_spf keeps pyspf's own default, so that word means pyspf's text.
    expected = test["explanation"]
    if expected == "DEFAULT":
        expected = pyspf.EXPLANATIONS["fail"]

    result = _check(test, zonedata)

    assert result.explanation == expected
