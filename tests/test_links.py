"""Tests for URL normalisation, link extraction and link classification."""

from __future__ import annotations

import pytest

from mpsverify.content import LinkClass, classify_url
from mpsverify.content.extract import MAX_LINKS, bare_urls, extract_content
from mpsverify.content.links import analyse_links, shown_hosts
from mpsverify.content.urls import parse_ipv4, parse_url
from mpsverify.message import parse_message
from test_content_fixtures import ALLOWLIST



# -- normalisation ---------------------------------------------------------------------


@pytest.mark.parametrize("url, host, ip_version", [
    ("http://198.51.100.7/x", "198.51.100.7", 4),
    ("http://3325256711/x", "198.51.100.7", 4),
    ("http://0xC6336407/", "198.51.100.7", 4),
    ("http://0xC6.0x33.0x64.0x7/", "198.51.100.7", 4),
    ("http://0306.063.0144.07/", "198.51.100.7", 4),
    ("http://198.51.25607/", "198.51.100.7", 4),
    ("http://198.3367943/", "198.51.100.7", 4),
    ("http://198.51.100.7./", "198.51.100.7", 4),
    ("http://%31%39%38.51.100.7/", "198.51.100.7", 4),
    ("http://１９８.５１.１００.７/", "198.51.100.7", 4),
    ("http://[2001:db8::1]/", "2001:db8::1", 6),
    ("http://[2001:0DB8:0:0:0:0:0:1]:8443/", "2001:db8::1", 6),
    ("http://[::ffff:198.51.100.7]/", "198.51.100.7", 4),
    ("http://[::ffff:c633:6407]/", "198.51.100.7", 4),
])
def test_ip_literal_notations(url: str, host: str, ip_version: int) -> None:
    parsed = parse_url(url)
    assert parsed is not None
    assert parsed.host == host
    assert parsed.ip_version == ip_version
    assert parsed.registrable == ""


@pytest.mark.parametrize("url, host, unicode_host", [
    ("https://WWW.MedicalProtection.ORG/uk", "www.medicalprotection.org", "www.medicalprotection.org"),
    ("https://medicalprotectіon.org/", "xn--medicalprotecton-nwn.org", "medicalprotectіon.org"),
    ("https://xn--medicalprotecton-nwn.org/", "xn--medicalprotecton-nwn.org", "medicalprotectіon.org"),
    ("https://%6d%65dicalprotection.org/", "medicalprotection.org", "medicalprotection.org"),
    ("https://medicalprotection。org/", "medicalprotection.org", "medicalprotection.org"),
    ("https://ＭＥＤＩＣＡＬprotection.org/", "medicalprotection.org", "medicalprotection.org"),
    ("https://www.medicalprotection.org./", "www.medicalprotection.org", "www.medicalprotection.org"),
    ("https:\\\\www.medicalprotection.org\\uk", "www.medicalprotection.org", "www.medicalprotection.org"),
    ("https:///www.medicalprotection.org/", "www.medicalprotection.org", "www.medicalprotection.org"),
    ("  https://www.medical\nprotection.org/  ", "www.medicalprotection.org", "www.medicalprotection.org"),
    ("www.medicalprotection.org/uk", "www.medicalprotection.org", "www.medicalprotection.org"),
    ("//www.medicalprotection.org/uk", "www.medicalprotection.org", "www.medicalprotection.org"),
    ("mailto:Membership@MedicalProtection.org?subject=x", "medicalprotection.org", "medicalprotection.org"),
])
def test_host_normalised(url: str, host: str, unicode_host: str) -> None:
    parsed = parse_url(url)
    assert parsed is not None
    assert parsed.host == host
    assert parsed.host_unicode == unicode_host


def test_userinfo_and_port() -> None:
    parsed = parse_url("https://www.medicalprotection.org:pw@evil.example:8080/login")
    assert parsed is not None
    assert parsed.userinfo == "www.medicalprotection.org:pw"
    assert parsed.host == "evil.example"
    assert parsed.port == 8080


def test_last_at_sign_separates_userinfo() -> None:
    parsed = parse_url("http://a@b@evil.example/")
    assert parsed is not None
    assert parsed.userinfo == "a@b"
    assert parsed.host == "evil.example"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "tel:+441234", "cid:image001", "#top", "/relative/path",
                                 "data:text/html,hi", ""])
def test_urls_without_host(url: str) -> None:
    assert parse_url(url) is None


@pytest.mark.parametrize("url", ["http://1.2.3.256/", "http://0x100000000/", "http://1.2.3.4.5/",
                                 "http://example.com:99999/", "http://[::1/"])
def test_invalid_hosts_marked(url: str) -> None:
    parsed = parse_url(url)
    assert parsed is not None
    assert parsed.host_valid is False


@pytest.mark.parametrize("host, expected", [("0", "0.0.0.0"), ("0x7f.1", "127.0.0.1"), ("4294967295", "255.255.255.255"),
                                            ("4294967296", None), ("08.1.1.1", None), ("1.2.3.x", None)])
def test_parse_ipv4(host: str, expected: str | None) -> None:
    assert parse_ipv4(host) == expected


def test_huge_decimal_host_invalid() -> None:
    parsed = parse_url("http://" + "9" * 10000 + "/")
    assert parsed is not None
    assert parsed.host_valid is False


def test_huge_port_not_parsed_as_int() -> None:
    parsed = parse_url("http://example.com:" + "9" * 10000 + "/")
    assert parsed is not None
    assert parsed.port is None
    assert parsed.host_valid is False


# -- extraction ------------------------------------------------------------------------


def _message(body: str, content_type: str = "text/html", charset: str = "utf-8", encoding: str = "8bit") -> bytes:
    return (f"From: a@example.com\r\nTo: b@example.com\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: {content_type}; charset={charset}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
            ).encode() + body.encode(charset if encoding == "8bit" else "ascii")


def test_html_sources_extracted() -> None:
    html = ('<html><head><title>https://title.example/</title><style>a{background:url(https://css.example/)}</style>'
            '</head><body><a href="https://a.example/x">Click <b>here</b></a>'
            '<map><area href="https://area.example/" alt="x"></map>'
            '<form action="https://form.example/post"><input></form><img src="https://img.example/p.png">'
            '<p>Visit https://bare.example/path. Or www.www-bare.example!</p>'
            '<script>var u = "https://script.example/";</script></body></html>')
    found = extract_content(parse_message(_message(html))).links
    assert [(link.source, link.url, link.text) for link in found] == [
        ("a", "https://a.example/x", "Click here"),
        ("area", "https://area.example/", ""),
        ("form", "https://form.example/post", ""),
        ("img", "https://img.example/p.png", ""),
        ("text", "https://bare.example/path", ""),
        ("text", "www.www-bare.example", ""),
    ]


def test_html_entities_and_charset_decoded() -> None:
    html = '<a href="https://x.example/?a=1&amp;b=2">caf\u00e9 &#x6d;edicalprotection.org</a>'
    found = extract_content(parse_message(_message(html, charset="iso-8859-1"))).links
    assert found[0].url == "https://x.example/?a=1&b=2"
    assert found[0].text == "café medicalprotection.org"


def test_quoted_printable_html() -> None:
    body = '<a href=3D"https://qp.example/x">qp</a>'
    found = extract_content(parse_message(_message(body, encoding="quoted-printable"))).links
    assert found[0].url == "https://qp.example/x"


def test_base_href_resolves_relative_links() -> None:
    html = '<base href="https://evil.example/"><a href="/login">www.medicalprotection.org</a>'
    found = extract_content(parse_message(_message(html))).links
    assert found[0].url == "https://evil.example/login"


def test_unclosed_anchor_kept() -> None:
    found = extract_content(parse_message(_message('<a href="https://a.example/">first<a href="https://b.example/">'
                                                   'second'))).links
    assert [(link.url, link.text) for link in found] == [("https://a.example/", "first"),
                                                         ("https://b.example/", "second")]


def test_plain_text_urls() -> None:
    text = "See https://www.medicalprotection.org/uk, (https://x.example/a_(b)) and <http://y.example/>."
    assert [link.url for link in bare_urls(text)] == [
        "https://www.medicalprotection.org/uk", "https://x.example/a_(b)", "http://y.example/"]


def test_link_limit_reported() -> None:
    html = "".join(f'<a href="https://h{n}.example/">{n}</a>' for n in range(MAX_LINKS + 50))
    extracted = extract_content(parse_message(_message(html)))
    assert len(extracted.links) == MAX_LINKS
    assert extracted.limits_hit == (f"it has more than {MAX_LINKS} links",)


def test_attachment_parts_not_scanned_for_links() -> None:
    raw = (b"From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: text/plain\r\n\r\nhello https://body.example/\r\n"
           b"--b\r\nContent-Type: text/html; name=a.html\r\nContent-Disposition: attachment; filename=a.html\r\n\r\n"
           b"<a href='https://attached.example/'>x</a>\r\n--b--\r\n")
    assert [link.url for link in extract_content(parse_message(raw)).links] == ["https://body.example/"]


# -- classification ------------------------------------------------------------------


@pytest.mark.parametrize("url, classification, entity", [
    ("https://www.medicalprotection.org/uk", LinkClass.ENTITY, "Medical Protection Society"),
    ("https://click.esp-mailer.example/t/1", LinkClass.ENTITY, "Medical Protection Society"),
    ("https://mps.eu.qualtrics.com/jfe/form/SV_1", LinkClass.ENTITY, "Qualtrics"),
    ("https://survey.trinitymcqueen.com/s/1", LinkClass.ENTITY, "Trinity McQueen"),
    ("https://twitter.com/MPSdoctors", LinkClass.NEUTRAL, ""),
    ("https://www.linkedin.com/company/x", LinkClass.NEUTRAL, ""),
    ("https://evil.example/", LinkClass.UNKNOWN, ""),
    ("https://198.51.100.7/", LinkClass.UNKNOWN, ""),
    ("https://qualtrics.com.evil.example/", LinkClass.UNKNOWN, ""),
    ("javascript:void(0)", LinkClass.INVALID, ""),
])
def test_classify_url(url: str, classification: LinkClass, entity: str) -> None:
    link = classify_url(url, ALLOWLIST)
    assert link.classification is classification
    assert (link.entity.name if link.entity else "") == entity


def test_classify_unwraps_before_judging() -> None:
    link = classify_url("https://eur03.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.medicalprotection.org"
                        "%2Fuk&data=x", ALLOWLIST)
    assert link.classification is LinkClass.ENTITY
    assert link.host == "www.medicalprotection.org"
    assert link.rewriters == ("Microsoft Safe Links",)
    assert link.url.startswith("https://eur03.safelinks")
    assert link.target == "https://www.medicalprotection.org/uk"


@pytest.mark.parametrize("text, url, mismatch", [
    ("https://www.medicalprotection.org/renew", "https://renew-mps.evil.example/start", True),
    ("www.medicalprotection.org", "https://www.medicalprotection.org@198.51.100.7/login", True),
    ("medicalprotection.org/uk/education", "https://www.medicalprotectlon.org/uk", True),
    ("Visit 198.51.100.7", "https://evil.example/", True),
    ("www.medicalprotection.org/renew", "https://click.esp-mailer.example/t/abc123", False),
    ("medicalprotection.org", "https://www.medicalprotection.org/uk/about", False),
    ("dentalprotection.org", "https://www.medicalprotection.org/dental", False),
    ("survey.trinitymcqueen.com", "https://survey.trinitymcqueen.com/s/mps2026", False),
    ("read the article", "https://evil.example/", False),
    ("Version 2.0 notes.md", "https://evil.example/", False),
    ("membership@medicalprotection.org", "mailto:membership@medicalprotection.org", False),
    ("www.medicalprotection.org", "https://protect-eu.mimecast.com/s/AbC", False),
    ("https://www.medicalprotection.org", "https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2F"
     "www.medicalprotection.org%2F&data=x", False),
    ("https://www.medicalprotection.org", "https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2F"
     "evil.example%2F&data=x", True),
])
def test_text_mismatch(text: str, url: str, mismatch: bool) -> None:
    assert classify_url(url, ALLOWLIST, text).text_mismatch is mismatch


def test_dressed_as_entity() -> None:
    link = classify_url("https://renew-mps.evil.example/", ALLOWLIST, "www.medicalprotection.org")
    assert link.dressed_as is not None
    assert link.dressed_as.name == "Medical Protection Society"


def test_shown_hosts_ignores_words() -> None:
    assert [parsed.host for parsed in shown_hosts("Click here, e.g. v2.0 or README.md")] == []
    assert [parsed.host for parsed in shown_hosts("Go to Medicalprotection.org.")] == ["medicalprotection.org"]


def test_shortener_flagged() -> None:
    link = classify_url("https://bit.ly/3abc", ALLOWLIST)
    assert link.shortener is True


def test_image_sources_not_risky() -> None:
    from mpsverify.content.extract import RawLink
    analysis = analyse_links([RawLink("http://198.51.100.7/pixel.gif", "img")], ALLOWLIST)
    assert analysis.risky is False
    assert analysis.reasons == ()


def test_link_lookalike_is_posing() -> None:
    from mpsverify.content.extract import RawLink
    analysis = analyse_links([RawLink("https://www.medicalprotectlon.org/", "a", "log in")], ALLOWLIST)
    assert analysis.risky is True
    assert analysis.posing_as is not None
    assert [reason.code for reason in analysis.reasons] == ["link.lookalike-domain"]


def test_genuine_entity_links_not_posing() -> None:
    from mpsverify.content.extract import RawLink
    analysis = analyse_links([RawLink("https://www.medicalprotection.org/uk", "a", "new consent guidance")],
                             ALLOWLIST)
    assert analysis.posing_as is None
    assert analysis.risky is False
    assert analysis.reasons == ()
