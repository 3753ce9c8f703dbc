"""Content findings each acceptance case needs, checked without the verifier core.

Each acceptance message is parsed, its author built from the From field, and the
content report compared with what the case's verdict depends on: impersonation
cases pose as an entity, suspicious cases are risky, and authentic, partner and
unrelated cases are neither.
"""

from __future__ import annotations

import email.errors
import email.header
import email.utils
import pytest
from conftest import ACCEPTANCE

from mpsverify.allowlist import Allowlist, load_allowlist
from mpsverify.content import ContentReport, analyse_content
from mpsverify.message import parse_message
from mpsverify.results import Author

CASES = ACCEPTANCE / "cases"

# Codes from content analysis that each case lists as required.
EXPECTED_CODES = {
    "impersonation-address-in-display-name": {"from.display-name-address"},
    "impersonation-display-name": {"from.display-name-brand"},
    "impersonation-encoded-word": {"from.display-name-address"},
    "impersonation-fake-portal": {"link.text-mismatch", "portal.fake-notification"},
    "impersonation-homoglyph-domain": {"from.lookalike-domain"},
    "impersonation-lookalike-domain": {"from.lookalike-domain"},
    "impersonation-subdomain-trick": {"from.lookalike-domain"},
    "suspicious-executable-attachment": {"attachment.executable"},
    "suspicious-link-text-mismatch": {"link.text-mismatch"},
    "suspicious-userinfo-link": {"link.userinfo"},
    "partner-qualtrics-survey": {"partner.open-platform"},
    "partner-portal-notification": {"portal.notification"},
}


def _case_names() -> list[str]:
    if not CASES.is_dir():
        return []
    return sorted(path.name for path in CASES.iterdir() if (path / "message.eml").is_file())


@pytest.fixture(scope="module")
def allowlist() -> Allowlist:
    if not CASES.is_dir():
        pytest.skip(f"acceptance cases not found at {CASES}")
    return load_allowlist(ACCEPTANCE / "allowlist.yaml")


def author_of(from_value: str) -> Author | None:
    """Build the Author from a From field the simple way, decoding encoded words in the name."""
    name, address = email.utils.parseaddr(from_value.replace("\r\n", ""))
    if address.count("@") != 1:
        return None
    try:
        decoded = str(email.header.make_header(email.header.decode_header(name))) if name else ""
    except (email.errors.HeaderParseError, LookupError, UnicodeError):
        decoded = name
    return Author(address, address.rpartition("@")[2].lower(), decoded)


def report_for(name: str, allowlist: Allowlist) -> tuple[ContentReport, bool]:
    """Return the content report for one case and whether its author belongs to an entity."""
    message = parse_message((CASES / name / "message.eml").read_bytes())
    from_value = message.get_first("From")
    author = author_of(from_value) if from_value else None
    entity = allowlist.entity_for_domain(author.domain) if author else None
    return analyse_content(message, author, entity, allowlist), entity is not None


@pytest.mark.parametrize("name", [n for n in _case_names() if n.startswith("impersonation-")])
def test_impersonation_poses(name: str, allowlist: Allowlist) -> None:
    report, has_entity = report_for(name, allowlist)
    assert not has_entity
    assert report.posing_as is not None
    assert report.posing_as.kind in ("organisation", "portal")


@pytest.mark.parametrize("name", [n for n in _case_names() if n.startswith("suspicious-")])
def test_suspicious_risky(name: str, allowlist: Allowlist) -> None:
    report, has_entity = report_for(name, allowlist)
    assert has_entity
    assert report.risky is True


@pytest.mark.parametrize("name", [n for n in _case_names()
                                  if n.startswith(("authentic-", "partner-", "unrelated-"))])
def test_benign_cases_clean(name: str, allowlist: Allowlist) -> None:
    report, _ = report_for(name, allowlist)
    assert report.posing_as is None
    assert report.risky is False
    assert [reason.code for reason in report.reasons if reason.severity.value == "danger"] == []


@pytest.mark.parametrize("name", sorted(EXPECTED_CODES))
def test_expected_codes(name: str, allowlist: Allowlist) -> None:
    if name not in _case_names():
        pytest.skip(f"case {name} not present")
    report, _ = report_for(name, allowlist)
    assert EXPECTED_CODES[name] <= {reason.code for reason in report.reasons}


def test_qualtrics_caveat(allowlist: Allowlist) -> None:
    if "partner-qualtrics-survey" not in _case_names():
        pytest.skip("case partner-qualtrics-survey not present")
    report, _ = report_for("partner-qualtrics-survey", allowlist)
    assert report.open_platform_caveat is True


@pytest.mark.parametrize("name", _case_names())
def test_every_case_analysed(name: str, allowlist: Allowlist) -> None:
    report, _ = report_for(name, allowlist)
    assert isinstance(report.reasons, tuple)
