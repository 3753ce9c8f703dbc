"""Tests for display names, portal notifications, open platforms and the bounds on work."""

from __future__ import annotations

import time

import pytest

from mpsverify.content import ContentReport, analyse_content
from mpsverify.content.extract import MAX_LINKS
from mpsverify.content.identity import display_name_brand
from mpsverify.message import parse_message
from mpsverify.results import Author
from test_content_fixtures import ALLOWLIST



def analyse(address: str, display_name: str = "", body: str = "<p>hello</p>", headers: str = "",
            subject: str = "Notice") -> ContentReport:
    domain = address.rpartition("@")[2]
    raw = (f"From: {address}\r\nTo: a@nhs-trust.example\r\nSubject: {subject}\r\n{headers}"
           "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body).encode()
    author = Author(address, domain, display_name)
    return analyse_content(parse_message(raw), author, ALLOWLIST.entity_for_domain(domain), ALLOWLIST)


def codes(report: ContentReport) -> list[str]:
    return [reason.code for reason in report.reasons]


# -- display names ------------------------------------------------------------------


@pytest.mark.parametrize("name, brand", [
    ("Medical Protection", "Medical Protection"),
    ("MEDICAL PROTECTION TEAM", "Medical Protection"),
    ("Medical-Protection", "Medical Protection"),
    ("MedicalProtection Renewals", "Medical Protection"),
    ("Меdical Рrotection", "Medical Protection"),
    ("Medlcal Protectlon", "Medical Protection"),
    ("ＭＰＳ Membership", "MPS"),
    ("M P S", "MPS"),
    ("M.P.S. Renewals", "MPS"),
    ("Dental Protection Ltd", "Dental Protection"),
    ("Medical Protection Society", "Medical Protection"),
    ("medicalprotection.org support", "Medical Protection"),
])
def test_display_name_brand_found(name: str, brand: str) -> None:
    found = display_name_brand(name, ALLOWLIST)
    assert found is not None
    assert found[0] == brand


@pytest.mark.parametrize("name", ["Sam Colleague", "Dr Sampson", "Trust Communications", "Mpsycho Clinic",
                                  "Medical Records", "Protection Racket", ""])
def test_display_name_brand_not_found(name: str) -> None:
    assert display_name_brand(name, ALLOWLIST) is None


def test_brand_from_entity_domain_not_flagged() -> None:
    report = analyse("membership@medicalprotection.org", "Medical Protection")
    assert report.reasons == ()
    assert report.posing_as is None


def test_brand_from_partner_not_flagged() -> None:
    report = analyse("noreply@qemailserver.com", "Medical Protection")
    assert "from.display-name-brand" not in codes(report)


def test_address_of_author_domain_not_flagged() -> None:
    report = analyse("john@hospital.example", "john@hospital.example")
    assert report.reasons == ()


def test_address_of_unrelated_domain_not_posing() -> None:
    report = analyse("x@evil.example", "boss@company.example")
    assert report.posing_as is None


def test_address_of_lookalike_flagged() -> None:
    report = analyse("x@evil.example", "renewals@medicalprotectlon.org")
    assert "from.display-name-address" in codes(report)
    assert report.posing_as is not None


def test_fullwidth_at_sign_in_display_name() -> None:
    report = analyse("x@evil.example", "membership＠medicalprotection.org")
    assert "from.display-name-address" in codes(report)


def test_unrelated_mail_mentioning_mps() -> None:
    report = analyse("sam@hospital.example", "Sam Colleague",
                     "<p>Did you get the MPS renewal? See "
                     '<a href="https://www.medicalprotection.org/uk">their site</a>.</p>',
                     subject="MPS renewal")
    assert report.reasons == ()
    assert report.posing_as is None
    assert report.risky is False


# -- Reply-To and Sender --------------------------------------------------------------


def test_reply_to_lookalike_makes_entity_mail_risky() -> None:
    report = analyse("membership@medicalprotection.org", "Medical Protection",
                     headers="Reply-To: Renewals <renewals@medicalprotection-renewals.example>\r\n")
    assert codes(report) == ["reply-to.lookalike-domain"]
    assert report.risky is True
    assert report.posing_as is None


def test_reply_to_lookalike_is_posing_for_others() -> None:
    report = analyse("x@evil.example", "Renewals", headers="Reply-To: a@medical-protection.org\r\n")
    assert report.posing_as is not None
    assert report.posing_as.name == "Medical Protection Society"


def test_reply_to_entity_address_fine() -> None:
    report = analyse("membership@medicalprotection.org", headers="Reply-To: help@dentalprotection.org\r\n")
    assert report.reasons == ()


# -- portal notifications --------------------------------------------------------------


def test_echoworx_header_marks_notification() -> None:
    report = analyse("notify@relay.example", "Notifications",
                     '<p>Medical Protection sent you a document.</p><a href="https://evil.example/open">Open</a>',
                     headers="X-Echoworx-Msg-Id: 123\r\n")
    assert "portal.fake-notification" in codes(report)
    assert report.posing_as is not None
    assert report.posing_as.kind == "portal"


def test_other_organisations_notification_ignored() -> None:
    report = analyse("notify@bank.example", "Bank",
                     '<p>You have received a secure message from Your Bank.</p><a href="https://bank.example/">Open</a>')
    assert report.reasons == ()
    assert report.posing_as is None


def test_notification_linking_to_portal_not_fake() -> None:
    report = analyse("notify@relay.example", "Notifications",
                     "<p>You have received a secure message from Medical Protection.</p>"
                     '<a href="https://secure.secure-portal.example/read">Open</a>')
    assert "portal.fake-notification" not in codes(report)


# -- open platforms ---------------------------------------------------------------------


def test_open_platform_flag_in_allowlist() -> None:
    report = analyse("noreply@surveyhub.example", "Medical Protection",
                     '<a href="https://mps.surveyhub.example/s/1">Start</a>')
    assert report.open_platform_caveat is True
    assert codes(report) == ["partner.open-platform"]


def test_closed_partner_no_caveat() -> None:
    report = analyse("noreply@secure-portal.example", "", '<a href="https://secure-portal.example/r">Read</a>')
    assert report.open_platform_caveat is False


# -- bounds on work ------------------------------------------------------------------------


def _timed(report_maker: object) -> tuple[ContentReport, float]:
    started = time.perf_counter()
    report = report_maker()  # type: ignore[operator]
    return report, time.perf_counter() - started


def test_newsletter_with_500_links() -> None:
    body = "".join(f'<p>Item {n}: <a href="https://click.esp-mailer.example/t/{n}">www.medicalprotection.org/a{n}'
                   f'</a> <img src="https://img.example/{n}.png"></p>' for n in range(500))
    report, elapsed = _timed(lambda: analyse("news@medicalprotection.org", "Medical Protection", body))
    assert len(report.links) == 1000
    assert report.risky is False
    assert elapsed < 1.0


def test_100000_links_bounded() -> None:
    body = "".join(f'<a href="https://h{n}.example{n % 97}.com/x">link {n}</a>' for n in range(100_000))
    report, elapsed = _timed(lambda: analyse("news@medicalprotection.org", "Medical Protection", body))
    assert len(report.links) == MAX_LINKS
    assert "content.limits-exceeded" in codes(report)
    assert elapsed < 1.0


def test_100000_bare_urls_bounded() -> None:
    body = " ".join(f"https://h{n}.example.com/" for n in range(100_000))
    report, elapsed = _timed(lambda: analyse("news@medicalprotection.org", "", body))
    assert len(report.links) == MAX_LINKS
    assert elapsed < 1.0


def test_one_megabyte_fields() -> None:
    huge = "a" * 1_000_000
    report, elapsed = _timed(lambda: analyse("x@evil.example", "Medical " + huge,
                                             headers=f"Reply-To: {huge}@{huge}.example\r\n", subject=huge))
    assert elapsed < 1.0
    assert report.posing_as is None


def test_one_megabyte_url() -> None:
    body = '<a href="https://' + "a." * 400_000 + 'example/">www.medicalprotection.org</a>'
    report, elapsed = _timed(lambda: analyse("news@medicalprotection.org", "", body))
    assert elapsed < 1.0
    assert "link.text-mismatch" in codes(report)


def test_deep_tag_soup_bounded() -> None:
    body = "<div>" * 400_000
    _, elapsed = _timed(lambda: analyse("news@medicalprotection.org", "", body))
    assert elapsed < 1.5
