"""Tests for offline unwrapping of links rewritten by mail security gateways."""

from __future__ import annotations

import base64

import pytest

from mpsverify.content.rewriters import MAX_UNWRAP_DEPTH, unwrap


def _sophos(target: str) -> str:
    encoded = base64.b64encode(target.encode()).decode()
    return f"https://eu02.protection.sophos.com?d=example.com&u={encoded}&i=NjA&t=dGVzdA==&h=abc"


# (rewritten link, known target, services outermost first)
REWRITTEN = [
    ("https://eur03.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.medicalprotection.org%2Fuk"
     "&data=05%7C01%7Cx%40example.com&sdata=abc&reserved=0",
     "https://www.medicalprotection.org/uk", ("Microsoft Safe Links",)),
    ("https://nam12.safelinks.protection.outlook.com/?url=http%3A%2F%2Fevil.example%2Flogin%3Fa%3D1%26b%3D2"
     "&data=x&reserved=0",
     "http://evil.example/login?a=1&b=2", ("Microsoft Safe Links",)),
    ("https://gcc02.safelinks.protection.office365.us/?url=https%3A%2F%2Fexample.com%2F&data=x",
     "https://example.com/", ("Microsoft Safe Links",)),
    ("https://urldefense.proofpoint.com/v1/url?u=https%3A%2F%2Fwww.example.com%2Fa%3Fb%3Dc&k=abc&r=def&m=ghi&s=jkl",
     "https://www.example.com/a?b=c", ("Proofpoint URL Defense",)),
    ("https://urldefense.proofpoint.com/v2/url?u=https-3A__www.medicalprotection.org_uk_renew-3Fa-3D1"
     "&d=DwMFaQ&c=abc&r=def&m=ghi&s=jkl&e=",
     "https://www.medicalprotection.org/uk/renew?a=1", ("Proofpoint URL Defense",)),
    ("https://urldefense.proofpoint.com/v2/url?u=http-3A__evil.example_a-5Fb-2Dc-3Fx-3D1-26y-3D2&d=x&c=y&e=",
     "http://evil.example/a_b-c?x=1&y=2", ("Proofpoint URL Defense",)),
    ("https://urldefense.com/v3/__https://google.com:443/search?q=a*test&gs=ps__;Kw!-612Flbf0JvQ3kNJkRi5Jg"
     "!Ue6tQudNKaShHg93trcdjqDP8se2ySE65jyCIe2K1D_uNjZ1Lnf6YLQERujngZv9UWf66ujQIQ$",
     "https://google.com:443/search?q=a+test&gs=ps", ("Proofpoint URL Defense",)),
    ("https://urldefense.com/v3/__https://example.com/a*b*c__;ICs!!token$",
     "https://example.com/a b+c", ("Proofpoint URL Defense",)),
    ("https://urldefense.com/v3/__http://example.com/**A__;ISE!token$",
     "http://example.com/!!", ("Proofpoint URL Defense",)),
    ("https://urldefense.com/v3/__https://www.medicalprotection.org/uk__;!!token!abc$",
     "https://www.medicalprotection.org/uk", ("Proofpoint URL Defense",)),
    ("https://www.google.com/url?q=https://evil.example/x&sa=D&source=editors&ust=1",
     "https://evil.example/x", ("a Google redirect",)),
    ("https://www.google.co.uk/url?sa=t&url=https%3A%2F%2Fwww.nhs.uk%2F&usg=abc",
     "https://www.nhs.uk/", ("a Google redirect",)),
    ("https://linkprotect.cudasvc.com/url?a=https%3a%2f%2fevil.example%2fpay&c=E,1,abc&typo=1",
     "https://evil.example/pay", ("Barracuda Link Protection",)),
    ("https://imsva91-ctp.trendmicro.com/wis/clicktime/v1/query?url=https%3a%2f%2fexample.com%2fx&umid=1",
     "https://example.com/x", ("Trend Micro Click Time Protection",)),
    ("https://clicktime.symantec.com/3AbCdEf?u=https%3A%2F%2Fexample.com%2Fdoc",
     "https://example.com/doc", ("Symantec Click-time URL Protection",)),
    (_sophos("https://www.example.com/page?x=1"), "https://www.example.com/page?x=1",
     ("Sophos Time-of-Click Protection",)),
    ("https://secure-web.cisco.com/1AbCdEfToken/https%3A%2F%2Fevil.example%2Flogin",
     "https://evil.example/login", ("Cisco Secure Email URL rewriting",)),
    ("https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Furldefense.proofpoint.com%2Fv2%2Furl"
     "%3Fu%3Dhttps-3A__evil.example_%26d%3Dx&data=1",
     "https://evil.example/", ("Microsoft Safe Links", "Proofpoint URL Defense")),
]


@pytest.mark.parametrize("wrapped, target, services", REWRITTEN)
def test_unwrap_known_target(wrapped: str, target: str, services: tuple[str, ...]) -> None:
    result = unwrap(wrapped)
    assert result.target == target
    assert result.services == services
    assert result.opaque is False


def test_table_large_enough() -> None:
    assert len(REWRITTEN) >= 15


@pytest.mark.parametrize("wrapped, service", [
    ("https://protect-eu.mimecast.com/s/AbCdEfGh?domain=evil.example", "Mimecast URL Protect"),
    ("https://protect-us.mimecast.com/s/XyZ", "Mimecast URL Protect"),
    ("https://url.uk.m.mimecastprotect.com/s/AbC?domain=example.com", "Mimecast URL Protect"),
])
def test_opaque_rewriter_kept(wrapped: str, service: str) -> None:
    result = unwrap(wrapped)
    assert result.opaque is True
    assert result.target == wrapped
    assert result.services == (service,)


def test_opaque_inside_transparent() -> None:
    wrapped = ("https://eur03.safelinks.protection.outlook.com/?url=https%3A%2F%2Fprotect-eu.mimecast.com"
               "%2Fs%2FAbC&data=x")
    result = unwrap(wrapped)
    assert result.opaque is True
    assert result.target == "https://protect-eu.mimecast.com/s/AbC"
    assert result.services == ("Microsoft Safe Links", "Mimecast URL Protect")


@pytest.mark.parametrize("url", [
    "https://www.medicalprotection.org/uk",
    "https://www.google.com/search?q=mps",
    "https://urldefense.proofpoint.com/v2/other?u=x",
    "mailto:someone@example.com",
    "not a url",
])
def test_plain_links_unchanged(url: str) -> None:
    result = unwrap(url)
    assert result.target == url
    assert result.services == ()


@pytest.mark.parametrize("url", [
    "https://urldefense.com/v3/__https://example.com/a*b*c__;!!token$",
    "https://eu02.protection.sophos.com?u=%%%notbase64",
    "https://eur03.safelinks.protection.outlook.com/?data=no-url-parameter",
])
def test_malformed_rewrites_left_wrapped(url: str) -> None:
    result = unwrap(url)
    assert result.target == url
    assert result.services == ()


def test_nesting_bounded() -> None:
    url = "https://example.com/end"
    for _ in range(MAX_UNWRAP_DEPTH + 3):
        url = "https://www.google.com/url?q=" + url.replace("%", "%25").replace("&", "%26").replace("?", "%3F")
    result = unwrap(url)
    assert len(result.services) == MAX_UNWRAP_DEPTH
