"""Tests for the shipped allowlist data, the schema checks and entity matching."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
import yaml

from mpsverify.allowlist import (
    Allowlist,
    AllowlistReadError,
    AllowlistValidationError,
    Entity,
    check_allowlist_file,
    default_allowlist,
    host_matches,
    load_allowlist,
    parse_allowlist,
    parse_allowlist_file,
    shipped_allowlist_path,
)
from mpsverify.allowlist_schema import host_problem

FACTS = Path(__file__).resolve().parents[2] / "shared" / "facts" / "entities.md"
ACCEPTANCE_ALLOWLIST = Path(__file__).resolve().parents[2] / "shared" / "acceptance" / "allowlist.yaml"

# Names that no public source ties to MPS, and shared hosting that must never be
# listed. Kept here so the test still runs where the facts file is absent.
KNOWN_NOT_FOUND = ("mps.org.uk", "medicalprotection.com", "themps.*", "mpsgroup.*", "*.sitefinity.cloud")


def not_found_patterns() -> set[str]:
    """Return the domain patterns marked "not found" or "never" in the facts file, plus the known ones."""
    patterns = set(KNOWN_NOT_FOUND)
    if not FACTS.exists():
        return patterns
    for line in FACTS.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[-1].lower().startswith(("not found", "never")):
            continue
        patterns.update(token.strip("`") for token in re.split(r"[,\s]+", cells[0]) if "." in token)
    return patterns


def shipped_entries() -> list[dict[str, object]]:
    data = yaml.safe_load(shipped_allowlist_path().read_text(encoding="utf-8"))
    entries: list[dict[str, object]] = data["entities"]
    return entries


def listed_names(entity: Entity) -> list[str]:
    return [*entity.domains, *entity.link_hosts, *entity.brand_hosts]


def matches_pattern(name: str, pattern: str) -> bool:
    """Return True when ``name`` or a name it covers falls under a not-found pattern."""
    bare = name.removeprefix("*.")
    return fnmatch.fnmatch(bare, pattern) or fnmatch.fnmatch(name, pattern) or bare.endswith("." + pattern)


# Shipped data


def test_shipped_file_is_valid() -> None:
    assert check_allowlist_file(shipped_allowlist_path()) == []


@pytest.mark.parametrize("entry", shipped_entries(), ids=lambda entry: str(entry["name"]))
def test_shipped_entity_has_source_and_confidence(entry: dict[str, object]) -> None:
    assert isinstance(entry.get("source"), str) and str(entry["source"]).strip(), "source is missing"
    assert entry.get("confidence") in ("seen", "inferred"), "confidence must be seen or inferred"


def test_not_found_patterns_include_facts() -> None:
    patterns = not_found_patterns()
    assert "mps.org.uk" in patterns
    assert "*.sitefinity.cloud" in patterns


@pytest.mark.parametrize("pattern", sorted(not_found_patterns()))
def test_shipped_data_lists_no_not_found_domain(pattern: str) -> None:
    for entity in default_allowlist().entities:
        for name in listed_names(entity):
            assert not matches_pattern(name, pattern), f"{entity.name} lists {name}, marked not found"
    for host in default_allowlist().neutral_link_hosts:
        assert not matches_pattern(host, pattern)


def test_pattern_matcher_catches_wildcards() -> None:
    assert matches_pattern("themps.org", "themps.*")
    assert matches_pattern("staging.sitefinity.cloud", "*.sitefinity.cloud")
    assert matches_pattern("*.mpsgroup.com", "mpsgroup.*")
    assert not matches_pattern("medicalprotection.org", "medicalprotection.com")


@pytest.mark.parametrize(("domain", "name", "kind"), [
    ("medicalprotection.org", "Medical Protection Society", "organisation"),
    ("dentalprotection.org", "Medical Protection Society", "organisation"),
    ("recruitment.medicalprotection.org", "Medical Protection Society", "organisation"),
    ("apply.medicalprotection.org", "Medical Protection Society", "organisation"),
    ("thempsfoundation.org", "MPS Foundation", "organisation"),
    ("healthcareprotection.org", "Healthcare Protection", "organisation"),
    ("theyoungdentist.com", "The Young Dentist", "organisation"),
    ("qemailserver.com", "Qualtrics", "partner"),
    ("mustard-research.com", "Mustard Research", "partner"),
    ("trinitymcqueen.com", "Trinity McQueen", "partner"),
    ("researchbydesign.co.uk", "Research By Design", "partner"),
    ("gustoresearch.com", "Gusto Research", "partner"),
])
def test_shipped_domain_owner(domain: str, name: str, kind: str) -> None:
    entity = default_allowlist().entity_for_domain(domain)
    assert entity is not None
    assert entity.name == name
    assert entity.kind == kind


@pytest.mark.parametrize("name", ["Compass Research", "Mercator", "Optimisa Research", "RDSi Research",
                                  "TIPI Research"])
def test_partner_without_domain_listed_by_name(name: str) -> None:
    entity = default_allowlist().entity_by_name(name)
    assert entity is not None
    assert entity.kind == "partner"
    assert entity.domains == ()


def test_inferred_partners() -> None:
    for name in ("Mustard Research", "Trinity McQueen", "Research By Design", "Gusto Research"):
        entity = default_allowlist().entity_by_name(name)
        assert entity is not None
        assert entity.confidence == "inferred", name


def test_qualtrics_is_open_platform() -> None:
    qualtrics = default_allowlist().entity_by_name("Qualtrics")
    assert qualtrics is not None
    assert qualtrics.open_platform
    assert qualtrics.link_hosts == ("*.qualtrics.com",)
    assert qualtrics.brand_hosts == ()
    assert default_allowlist().entity_for_link_host("mps.eu.qualtrics.com") is qualtrics


def test_portal_waits_for_operator_host() -> None:
    portals = [entity for entity in default_allowlist().entities if entity.kind == "portal"]
    assert len(portals) == 1
    assert portals[0].domains == ()
    assert portals[0].link_hosts == ()
    assert "Echoworx" in portals[0].notes
    assert default_allowlist().entity_for_link_host("mps.ssm.echoworx.net") is None


def test_organisation_entity_is_mps() -> None:
    organisation = default_allowlist().organisation_entity()
    assert organisation is not None
    assert organisation.name == "Medical Protection Society"
    assert "Dental Protection" in organisation.brand_names


def test_shipped_entity_records_origin_and_line() -> None:
    entity = default_allowlist().entity_by_name("Trinity McQueen")
    assert entity is not None
    assert entity.origin == str(shipped_allowlist_path())
    listing = entity.listing("domains", "trinitymcqueen.com")
    assert listing is not None
    lines = shipped_allowlist_path().read_text(encoding="utf-8").splitlines()
    assert "trinitymcqueen.com" in lines[listing.line - 1]


@pytest.mark.skipif(not ACCEPTANCE_ALLOWLIST.exists(), reason="acceptance cases not present")
def test_acceptance_allowlist_loads() -> None:
    allowlist = load_allowlist(ACCEPTANCE_ALLOWLIST)
    assert allowlist.entity_for_domain("qemailserver.com") is not None
    assert all(entity.confidence == "configured" for entity in allowlist.entities)


# Matching


def small_allowlist() -> Allowlist:
    return parse_allowlist("""
version: 1
organisation: Example
entities:
  - name: Org
    kind: organisation
    domains: [example.org]
    link_hosts: [click.mailer.example]
  - name: Survey arm
    kind: partner
    domains: [survey.example.org]
  - name: Platform
    kind: partner
    domains: [platform.example]
    link_hosts: ["*.platform-links.example"]
    open_platform: true
    brand_hosts: [org.platform-links.example]
neutral_link_hosts: [social.example, "*.videos.example"]
""")


def test_most_specific_domain_wins() -> None:
    allowlist = small_allowlist()
    assert allowlist.entity_for_domain("a.survey.example.org").name == "Survey arm"  # type: ignore[union-attr]
    assert allowlist.entity_for_domain("www.example.org").name == "Org"  # type: ignore[union-attr]


def test_domain_match_ignores_case_and_trailing_dot() -> None:
    assert small_allowlist().entity_for_domain("WWW.Example.ORG.") is not None


def test_lookalike_suffix_is_not_subdomain() -> None:
    assert small_allowlist().entity_for_domain("notexample.org") is None


def test_link_host_and_brand_host() -> None:
    allowlist = small_allowlist()
    platform = allowlist.entity_for_link_host("org.platform-links.example")
    assert platform is not None
    assert platform.owns_brand_host("org.platform-links.example")
    assert not platform.owns_brand_host("other.platform-links.example")
    assert allowlist.entity_for_link_host("other.platform-links.example") is platform
    assert allowlist.entity_for_link_host("click.mailer.example").name == "Org"  # type: ignore[union-attr]
    assert allowlist.entity_for_domain("click.mailer.example") is None


def test_wildcard_excludes_bare_domain() -> None:
    assert small_allowlist().entity_for_link_host("platform-links.example") is None
    assert host_matches("a.b.example", "*.b.example")
    assert not host_matches("b.example", "*.b.example")


def test_neutral_hosts() -> None:
    allowlist = small_allowlist()
    assert allowlist.is_neutral_host("social.example")
    assert allowlist.is_neutral_host("www.videos.example")
    assert not allowlist.is_neutral_host("videos.example")
    assert allowlist.entity_for_link_host("social.example") is None


def test_all_domains_pairs() -> None:
    pairs = small_allowlist().all_domains()
    assert ("survey.example.org", small_allowlist().entities[1]) in pairs
    assert len(pairs) == 3


def test_idn_domain_stored_as_a_labels() -> None:
    allowlist = parse_allowlist("version: 1\nentities:\n  - {name: B, kind: partner, domains: [bücher.example]}\n")
    assert allowlist.entities[0].domains == ("xn--bcher-kva.example",)
    assert allowlist.entity_for_domain("BÜCHER.example") is not None


# Schema problems: (file text, line, field, part of the message)

SCHEMA_CASES = [
    ("version: 2\nentities: []\n", 1, "version", "not a supported schema version"),
    ("entities: []\n", 1, "version", "is missing"),
    ("version: '1'\n", 1, "version", "not a supported schema version"),
    ("version: true\n", 1, "version", "not a supported schema version"),
    ("version: 1\ncolour: red\n", 2, "colour", "unknown field"),
    ("version: 1\nmode: merge\n", 2, "mode", "must be one of extend, replace"),
    ("version: 1\norganisation: [a]\n", 2, "organisation", "must be a string"),
    ("version: 1\nentities: {}\n", 2, "entities", "must be a list"),
    ("version: 1\nentities:\n  - kind: partner\n", 3, "name", "is missing"),
    ("version: 1\nentities:\n  - name: A\n", 3, "kind", "is missing"),
    ("version: 1\nentities:\n  - name: A\n    kind: vendor\n", 4, "kind", "must be one of organisation"),
    ("version: 1\nentities:\n  - name: A\n    kind: partner\n    colour: red\n", 5, "colour", "unknown field"),
    ("version: 1\nentities:\n  - name: A\n    kind: partner\n    confidence: sure\n", 5, "confidence",
     "must be one of seen, inferred, configured"),
    ("version: 1\nentities:\n  - name: A\n    kind: partner\n    open_platform: yes please\n", 5,
     "open_platform", "must be true or false"),
    ("version: 1\nentities:\n  - name: A\n    kind: partner\n    domains: a.example\n", 5, "domains",
     "must be a list"),
    ("version: 1\nentities:\n  - name: A\n    kind: partner\n    domains:\n      - ok.example\n"
     "      - https://a.example/x\n", 7, "domains", "is a URL"),
    ("version: 1\nentities:\n  - name: A\n    kind: partner\n    domains: ['*.a.example']\n", 5, "domains",
     "remove '*.'"),
    ("version: 1\nentities:\n  - name: A\n    kind: partner\n    domains: [co.uk]\n", 5, "domains",
     "public suffix"),
    ("version: 1\nentities:\n  - name: A\n    kind: partner\n    link_hosts: ['*.com']\n", 5, "link_hosts",
     "public suffix"),
    ("version: 1\nentities:\n  - name: A\n    kind: partner\n    domains: [192.0.2.1]\n", 5, "domains",
     "IP address"),
    ("version: 1\nentities:\n  - name: A\n    kind: partner\n    domains: [a.example, A.example]\n", 5,
     "domains", "listed twice"),
    ("version: 1\nentities:\n  - name: A\n    kind: partner\n    brand_names: ['']\n", 5, "brand_names",
     "non-empty string"),
    ("version: 1\nentities:\n  - {name: A, kind: partner}\n  - {name: ' a ', kind: partner}\n", 4, "name",
     "already used"),
    ("version: 1\nentities:\n  - {name: A, kind: partner, domains: [a.example]}\n"
     "  - {name: B, kind: partner, domains: [a.example]}\n", 4, "domains", "already listed by A"),
    ("version: 1\nneutral_link_hosts: [x.example, 'bad host']\n", 2, "neutral_link_hosts", "whitespace"),
]


@pytest.mark.parametrize(("text", "line", "field", "message"), SCHEMA_CASES)
def test_schema_problem_located(text: str, line: int, field: str, message: str) -> None:
    with pytest.raises(AllowlistValidationError) as raised:
        parse_allowlist_file(text, "test.yaml")
    problem = raised.value.problems[0]
    assert problem.file == "test.yaml"
    assert problem.line == line
    assert problem.field == field
    assert message in problem.message


def test_entity_problem_names_entry() -> None:
    with pytest.raises(AllowlistValidationError) as raised:
        parse_allowlist_file("version: 1\nentities:\n  - {name: Ok, kind: partner}\n  - {name: Bad, kind: x}\n",
                             "test.yaml")
    assert str(raised.value) == ("test.yaml:4: entity 2 (Bad): field 'kind': must be one of organisation, "
                                 "partner, portal, not 'x'")


def test_every_problem_reported() -> None:
    text = "version: 1\nextra: 1\nentities:\n  - name: A\n    kind: x\n    domains: [co.uk]\n"
    with pytest.raises(AllowlistValidationError) as raised:
        parse_allowlist_file(text, "test.yaml")
    assert [problem.line for problem in raised.value.problems] == [2, 5, 6]


def test_unknown_version_hides_other_fields() -> None:
    with pytest.raises(AllowlistValidationError) as raised:
        parse_allowlist_file("version: 2\nnew_field: 1\n", "test.yaml")
    assert len(raised.value.problems) == 1


def test_duplicate_key_reported() -> None:
    with pytest.raises(AllowlistValidationError) as raised:
        parse_allowlist_file("version: 1\nentities:\n  - name: A\n    kind: partner\n    name: B\n", "test.yaml")
    assert raised.value.problems[0].line == 5
    assert "appears twice" in raised.value.problems[0].message


@pytest.mark.parametrize(("text", "line", "message"), [
    ("version: 1\nentities: [\n", 3, "not valid YAML"),
    ("version: 1\nx: !!python/object:os.system ls\n", 2, "not valid YAML"),
    ("version: 1\n---\nversion: 1\n", 2, "not valid YAML"),
    ("", 0, "empty"),
    ("- version\n", 1, "must be a mapping"),
])
def test_malformed_yaml_rejected(text: str, line: int, message: str) -> None:
    with pytest.raises(AllowlistValidationError) as raised:
        parse_allowlist_file(text, "test.yaml")
    assert raised.value.problems[0].line == line
    assert message in raised.value.problems[0].message


def test_nested_aliases_load_quickly() -> None:
    # Each level refers to the one before ten times; expanding them would take 10**9 steps.
    levels = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    text = "\n".join(levels) + "\nversion: 1\nentities:\n  - name: A\n    kind: partner\n    notes: *a9\n"
    with pytest.raises(AllowlistValidationError) as raised:
        parse_allowlist_file(text, "test.yaml")
    assert any(problem.field == "notes" for problem in raised.value.problems)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(AllowlistReadError):
        load_allowlist(tmp_path / "missing.yaml")
    (tmp_path / "latin1.yaml").write_bytes(b"version: 1\norganisation: Caf\xe9\n")
    with pytest.raises(AllowlistReadError):
        load_allowlist(tmp_path / "latin1.yaml")


@pytest.mark.parametrize(("value", "wildcard", "problem"), [
    ("example.com", False, None),
    ("*.example.com", True, None),
    ("sub.example.co.uk", False, None),
    ("xn--bcher-kva.example", False, None),
    ("bücher.example", False, None),
    ("*.example.com", False, "remove '*.'"),
    ("a.*.example.com", True, "only as the whole first label"),
    ("user@example.com", False, "email address"),
    ("example.com:443", False, "without path or port"),
    ("localhost", False, "at least two labels"),
    ("-bad-.example", False, "not a valid domain name"),
    ("github.io", False, "public suffix"),
    ("192.0.2.1", True, "IP address"),
    ("::1", True, "without path or port"),
])
def test_host_problem(value: str, wildcard: bool, problem: str | None) -> None:
    found = host_problem(value, wildcard=wildcard)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
