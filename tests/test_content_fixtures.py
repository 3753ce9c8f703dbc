"""The allowlist shared by the content-analysis tests, and a check that it loads."""

from __future__ import annotations

from mpsverify.allowlist import parse_allowlist

ALLOWLIST_YAML = """
version: 1
organisation: Medical Protection Society
entities:
  - name: Medical Protection Society
    kind: organisation
    domains: [medicalprotection.org, dentalprotection.org]
    link_hosts: [click.esp-mailer.example]
    brand_names: [Medical Protection, Dental Protection, MPS]
  - name: Qualtrics
    kind: partner
    domains: [qemailserver.com]
    link_hosts: ["*.qualtrics.com"]
    brand_hosts: [mps.eu.qualtrics.com]
  - name: Trinity McQueen
    kind: partner
    domains: [trinitymcqueen.com]
  - name: Survey Hub
    kind: partner
    domains: [surveyhub.example]
    link_hosts: ["*.surveyhub.example"]
    open_platform: true
  - name: Secure messaging portal
    kind: portal
    domains: [secure-portal.example]
neutral_link_hosts: [twitter.com, x.com, www.linkedin.com, linkedin.com]
"""

ALLOWLIST = parse_allowlist(ALLOWLIST_YAML)


def test_fixture_allowlist_loads() -> None:
    assert [entity.kind for entity in ALLOWLIST.entities] == [
        "organisation", "partner", "partner", "partner", "portal"]
