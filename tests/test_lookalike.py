"""Tests for lookalike-domain detection against the shipped and a test allowlist."""

from __future__ import annotations

import time

import pytest

from mpsverify.allowlist import Allowlist, default_allowlist, parse_allowlist
from mpsverify.content import LookalikeMatch, find_lookalike
from mpsverify.content.lookalike import KIND_DESCRIPTIONS, bounded_distance
from mpsverify.content.skeleton import skeleton
from test_content_fixtures import ALLOWLIST

TEST_ALLOWLIST = ALLOWLIST


@pytest.fixture(scope="module", params=["test", "shipped"])
def allowlist(request: pytest.FixtureRequest) -> Allowlist:
    return TEST_ALLOWLIST if request.param == "test" else default_allowlist()


# (lookalike, imitated domain, kind)
LOOKALIKES = [
    ("medicalprotectlon.org", "medicalprotection.org", "homoglyph"),
    ("xn--medicalprotecton-nwn.org", "medicalprotection.org", "homoglyph"),
    ("medicalprotectіon.org", "medicalprotection.org", "homoglyph"),
    ("mеdicalprotection.org", "medicalprotection.org", "homoglyph"),
    ("medicalprotectión.org", "medicalprotection.org", "homoglyph"),
    ("rnedicalprotection.org", "medicalprotection.org", "homoglyph"),
    ("medicalprotect1on.org", "medicalprotection.org", "homoglyph"),
    ("medicalpr0tection.org", "medicalprotection.org", "homoglyph"),
    ("medlcalprotection.org", "medicalprotection.org", "homoglyph"),
    ("dentalprotectlon.org", "dentalprotection.org", "homoglyph"),
    ("medicalprotection.org.account-check.example", "medicalprotection.org", "leading-labels"),
    ("www.medicalprotection.org.evil.co.uk", "medicalprotection.org", "leading-labels"),
    ("apply.medicalprotection.org.signin.example", "medicalprotection.org", "leading-labels"),
    ("medicalprotection-org.login.example", "medicalprotection.org", "leading-labels"),
    ("medicalprotection.co.uk", "medicalprotection.org", "tld-swap"),
    ("medicalprotection.com", "medicalprotection.org", "tld-swap"),
    ("medicalprotection.org.uk", "medicalprotection.org", "tld-swap"),
    ("dentalprotection.co.uk", "dentalprotection.org", "tld-swap"),
    ("trinitymcqueen.co.uk", "trinitymcqueen.com", "tld-swap"),
    ("qemailserver.net", "qemailserver.com", "tld-swap"),
    ("medicalprotecton.org", "medicalprotection.org", "omission"),
    ("dentalprotecion.org", "dentalprotection.org", "omission"),
    ("trinitymcquen.com", "trinitymcqueen.com", "omission"),
    ("mediicalprotection.org", "medicalprotection.org", "repetition"),
    ("medicalprotectionn.org", "medicalprotection.org", "repetition"),
    ("emdicalprotection.org", "medicalprotection.org", "transposition"),
    ("medicalprotectoin.org", "medicalprotection.org", "transposition"),
    ("medicalprotectiom.org", "medicalprotection.org", "keyboard"),
    ("medicalprptection.org", "medicalprotection.org", "keyboard"),
    ("medicalprotectiona.org", "medicalprotection.org", "addition"),
    ("medical-protection.org", "medicalprotection.org", "hyphenation"),
    ("dental-protection.org", "dentalprotection.org", "hyphenation"),
    ("trinity-mcqueen.com", "trinitymcqueen.com", "hyphenation"),
    ("medical.protection.org", "medicalprotection.org", "subdomain"),
    ("medicalprotectiin.org", "medicalprotection.org", "vowel-swap"),
    ("medicalprotecticn.org", "medicalprotection.org", "edit-distance"),
    ("mymedicalprotection.com", "medicalprotection.org", "edit-distance"),
    ("medicalprotection.evil.example", "medicalprotection.org", "brand-label"),
    ("medicalprotection-login.evil.example", "medicalprotection.org", "brand-label"),
    ("medicalprotection-securemail.example", "medicalprotection.org", "combo"),
    ("wwwmedicalprotection.org", "medicalprotection.org", "combo"),
    ("medicalprotection-renewals.com", "medicalprotection.org", "combo"),
    ("MEDICALPROTECTLON.ORG.", "medicalprotection.org", "homoglyph"),
]

# Real domains: the entity domains, their subdomains, listed hosts, and common
# UK healthcare and mail domains.
REAL_DOMAINS = [
    "medicalprotection.org", "www.medicalprotection.org", "recruitment.medicalprotection.org",
    "apply.medicalprotection.org", "MEDICALPROTECTION.ORG", "medicalprotection.org.", "dentalprotection.org",
    "www.dentalprotection.org", "qemailserver.com", "mail.qemailserver.com", "trinitymcqueen.com",
    "survey.trinitymcqueen.com", "mps.eu.qualtrics.com", "twitter.com", "www.linkedin.com",
    "nhs.uk", "nhs.net", "england.nhs.uk", "nhsbsa.nhs.uk", "hee.nhs.uk", "gmc-uk.org", "gdc-uk.org",
    "bma.org.uk", "bda.org", "rcgp.org.uk", "rcn.org.uk", "rcplondon.ac.uk", "nice.org.uk", "cqc.org.uk",
    "themdu.com", "mddus.com", "gmail.com", "googlemail.com", "outlook.com", "hotmail.co.uk",
    "yahoo.co.uk", "icloud.com", "btinternet.com", "protonmail.com", "gov.uk", "hospital.example",
    # Browsers map full-width letters to ASCII (UTS 46), so this is the real domain.
    "ｍedicalprotection.org",
]


@pytest.mark.parametrize("domain, imitated, kind", LOOKALIKES)
def test_lookalike_caught(domain: str, imitated: str, kind: str) -> None:
    match = find_lookalike(domain, TEST_ALLOWLIST)
    assert match is not None, domain
    assert match.imitated == imitated
    assert match.kind == kind


@pytest.mark.parametrize("domain, imitated, kind", LOOKALIKES)
def test_lookalike_caught_with_shipped_list(domain: str, imitated: str, kind: str) -> None:
    if imitated == "qemailserver.com":
        pytest.skip("the shipped list has qemailserver.com too, but test its TLD swap with the test list only")
    match = find_lookalike(domain, default_allowlist())
    assert match is not None, domain
    assert match.imitated == imitated


@pytest.mark.parametrize("domain", REAL_DOMAINS)
def test_real_domain_not_flagged(domain: str, allowlist: Allowlist) -> None:
    assert find_lookalike(domain, allowlist) is None


def test_tables_large_enough() -> None:
    assert len(LOOKALIKES) >= 40
    assert len(REAL_DOMAINS) >= 30


def test_match_names_entity() -> None:
    match = find_lookalike("medicalprotectlon.org", TEST_ALLOWLIST)
    assert isinstance(match, LookalikeMatch)
    assert match.entity.name == "Medical Protection Society"
    assert match.description == "characters that look like the real ones"


def test_shown_domain_has_both_forms() -> None:
    match = find_lookalike("xn--medicalprotecton-nwn.org", TEST_ALLOWLIST)
    assert match is not None
    assert match.shown_domain == "medicalprotectіon.org (xn--medicalprotecton-nwn.org)"


def test_every_kind_described() -> None:
    kinds = {kind for _, _, kind in LOOKALIKES}
    assert kinds <= set(KIND_DESCRIPTIONS)
    assert len(kinds) >= 14


@pytest.mark.parametrize("value", ["", "localhost", "198.51.100.7", "[2001:db8::1]", "..", "a b.example"])
def test_non_domains_not_flagged(value: str) -> None:
    assert find_lookalike(value, TEST_ALLOWLIST) is None


def test_short_unrelated_labels_not_flagged() -> None:
    # "mps" is a brand name, not a domain, and short labels get no edit distance.
    assert find_lookalike("mps.example", TEST_ALLOWLIST) is None
    assert find_lookalike("mrs.org", TEST_ALLOWLIST) is None


def test_skeleton_maps_confusables() -> None:
    assert skeleton("Меdісаl Рrоtесtіоn") == skeleton("medical protection")
    assert skeleton("ΜΡЅ") == "mps"


@pytest.mark.parametrize("first, second, expected", [
    ("medicalprotection", "medicalprotection", 0),
    ("medicalprotection", "medicalprotecton", 1),
    ("medicalprotection", "emdicalprotection", 1),
    ("medicalprotection", "mymedicalprotection", 2),
    ("medicalprotection", "dentalprotection", 3),
])
def test_bounded_distance(first: str, second: str, expected: int) -> None:
    assert bounded_distance(first, second, 2) == min(expected, 3)


def test_many_unique_domains_fast() -> None:
    allowlist = parse_allowlist(TEST_ALLOWLIST_TEXT_FOR_SPEED)
    started = time.perf_counter()
    for number in range(2000):
        find_lookalike(f"host{number}.medicalprotectlon{number % 7}.example", allowlist)
        find_lookalike(f"www.site{number}.example", allowlist)
    # NOTE: a generous bound, because CI machines may be busy; it catches
    # quadratic work, not small slowdowns.
    assert time.perf_counter() - started < 3.0


TEST_ALLOWLIST_TEXT_FOR_SPEED = """
version: 1
organisation: Medical Protection Society
entities:
  - name: Medical Protection Society
    kind: organisation
    domains: [medicalprotection.org, dentalprotection.org]
"""
