"""Every content reason code, produced from a real input, with its message checked word for word."""

from __future__ import annotations

import email.header
import email.utils

import pytest

from mpsverify.content import CONTENT_CODES, ContentReport, analyse_content
from mpsverify.content.extract import MAX_LINKS
from mpsverify.message import parse_message
from mpsverify.reasons import CATALOGUE, make_reason
from mpsverify.results import Author, Severity
from test_content_fixtures import ALLOWLIST



def author_of(from_value: str) -> Author | None:
    """Build the Author from a From field the simple way, decoding encoded words in the name."""
    name, address = email.utils.parseaddr(from_value)
    if "@" not in address:
        return None
    decoded = str(email.header.make_header(email.header.decode_header(name))) if name else ""
    return Author(address, address.rpartition("@")[2].lower(), decoded)


def analyse(from_value: str, body: str = "<p>hello</p>", headers: str = "", content_type: str = "text/html",
            raw_body: bytes | None = None) -> ContentReport:
    raw = (f"From: {from_value}\r\nTo: a@nhs-trust.example\r\nSubject: Notice\r\n{headers}"
           f"MIME-Version: 1.0\r\nContent-Type: {content_type}; charset=utf-8\r\n\r\n").encode()
    raw += raw_body if raw_body is not None else body.encode()
    author = author_of(from_value)
    entity = ALLOWLIST.entity_for_domain(author.domain) if author else None
    return analyse_content(parse_message(raw), author, entity, ALLOWLIST)


def message_for(report: ContentReport, code: str) -> str:
    found = [reason.message for reason in report.reasons if reason.code == code]
    assert found, f"{code} not in {[reason.code for reason in report.reasons]}"
    return found[0]


ENTITY_FROM = '"Medical Protection" <membership@medicalprotection.org>'


def _attachment(filename: str, payload_base64: str, content_type: str = "application/octet-stream") -> bytes:
    return (b"--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\n"
            + f"Content-Type: {content_type}; name=\"{filename}\"\r\n"
              f"Content-Disposition: attachment; filename=\"{filename}\"\r\n"
              f"Content-Transfer-Encoding: base64\r\n\r\n{payload_base64}\r\n--b--\r\n".encode())


CASES = {
    "from.display-name-brand": (
        lambda: analyse('"Medical Protection" <mps.team@gmail.com>'),
        'The sender name "Medical Protection" uses the name "Medical Protection", which belongs to Medical '
        "Protection Society, but the message comes from gmail.com, which does not."),
    "from.display-name-address": (
        lambda: analyse('"membership@medicalprotection.org" <x7@evil.example>'),
        'The sender name "membership@medicalprotection.org" contains the address membership@medicalprotection.org, '
        "but the message comes from evil.example; many mail programs show only the name."),
    "from.lookalike-domain": (
        lambda: analyse("News <news@medicalprotectlon.org>"),
        "The author domain medicalprotectlon.org imitates medicalprotection.org, a domain of Medical Protection "
        "Society: characters that look like the real ones."),
    "reply-to.lookalike-domain": (
        lambda: analyse(ENTITY_FROM, headers="Reply-To: renewals@medical-protection.org\r\n"),
        "Replies would go to medical-protection.org, which imitates medicalprotection.org, a domain of Medical "
        "Protection Society: hyphens added."),
    "sender.lookalike-domain": (
        lambda: analyse("Sam <sam@hospital.example>", headers="Sender: <bulk@medicalprotection.co.uk>\r\n"),
        "The Sender field names medicalprotection.co.uk, which imitates medicalprotection.org, a domain of "
        "Medical Protection Society: the same name with a different ending."),
    "link.text-mismatch": (
        lambda: analyse(ENTITY_FROM, '<a href="https://renew-mps.evil.example/start">'
                                     "https://www.medicalprotection.org/renew</a>"),
        "A link shows www.medicalprotection.org but leads to renew-mps.evil.example, a different site."),
    "link.userinfo": (
        lambda: analyse(ENTITY_FROM, '<a href="https://www.medicalprotection.org@evil.example/login">log in</a>'),
        'A link starts with "www.medicalprotection.org" followed by an "@" sign, so it looks like '
        "www.medicalprotection.org but leads to evil.example."),
    "link.ip-literal": (
        lambda: analyse(ENTITY_FROM, '<a href="http://3325256711/login">log in</a>'),
        "A link leads to the bare internet address 198.51.100.7 instead of a named website, written as "
        "3325256711 to disguise it."),
    "link.lookalike-domain": (
        lambda: analyse(ENTITY_FROM, '<a href="https://www.dentalprotecion.org/">renew</a>'),
        "A link leads to www.dentalprotecion.org, which imitates dentalprotection.org, a domain of Medical "
        "Protection Society: a letter left out."),
    "link.shortener": (
        lambda: analyse(ENTITY_FROM, '<a href="https://bit.ly/3xYz">renew</a>'),
        "A link uses the URL shortener bit.ly, which hides where it finally leads."),
    "link.rewritten": (
        lambda: analyse(ENTITY_FROM, '<a href="https://eur03.safelinks.protection.outlook.com/?url=https%3A%2F%2F'
                                     'www.medicalprotection.org%2F&amp;data=x">site</a>'),
        "Links were rewritten by Microsoft Safe Links; each was judged by its real destination."),
    "link.opaque-rewriter": (
        lambda: analyse(ENTITY_FROM, '<a href="https://protect-eu.mimecast.com/s/AbC">site</a>'),
        "Links were rewritten by Mimecast URL Protect (protect-eu.mimecast.com), so their real destinations "
        "cannot be read from the message."),
    "content.limits-exceeded": (
        lambda: analyse(ENTITY_FROM, "".join(f'<a href="https://h{n}.example/">{n}</a>'
                                             for n in range(MAX_LINKS + 1))),
        f"Content analysis stopped early because it has more than {MAX_LINKS} links; links after that point "
        "were not checked."),
    "attachment.executable": (
        lambda: analyse(ENTITY_FROM, content_type='multipart/mixed; boundary="b"',
                        raw_body=_attachment("statement.pdf.exe", "TVqQAAMAAAAEAAAA")),
        "The attachment statement.pdf.exe is a program (the name ends in .exe); opening it could run code on "
        "the computer."),
    "attachment.double-extension": (
        lambda: analyse(ENTITY_FROM, content_type='multipart/mixed; boundary="b"',
                        raw_body=_attachment("statement.pdf.exe", "TVqQAAMAAAAEAAAA")),
        "The attachment name statement.pdf.exe hides its real type .exe behind a second ending .pdf."),
    "attachment.name-trick": (
        lambda: analyse(ENTITY_FROM, content_type='multipart/mixed; boundary="b"',
                        raw_body=_attachment("=?utf-8?b?aW52b2ljZeKArmZkcC5qcGc=?=", "aGVsbG8=")),
        "The attachment name invoice[U+202E]fdp.jpg contains invisible characters that reverse the text, so it "
        "is displayed differently from its real name."),
    "attachment.macro": (
        lambda: analyse(ENTITY_FROM, content_type='multipart/mixed; boundary="b"',
                        raw_body=_attachment("budget.xlsm", "aGVsbG8=")),
        "The attachment budget.xlsm is an Office file that can contain macros (the name ends in .xlsm), which "
        "can run code when the file is opened."),
    "attachment.html": (
        lambda: analyse(ENTITY_FROM, content_type='multipart/mixed; boundary="b"',
                        raw_body=_attachment("login.htm", "PGh0bWw+", "text/html")),
        "The attachment login.htm is a web page (the name ends in .htm); such attachments often open fake "
        "sign-in pages."),
    "attachment.archive": (
        lambda: analyse(ENTITY_FROM, content_type='multipart/mixed; boundary="b"',
                        raw_body=_attachment("files.rar", "UmFyIRoHAA==")),
        "The attachment files.rar is an archive (the name ends in .rar), which can hide other files from mail "
        "filters."),
    "attachment.disk-image": (
        lambda: analyse(ENTITY_FROM, content_type='multipart/mixed; boundary="b"',
                        raw_body=_attachment("statement.iso", "aGVsbG8=")),
        "The attachment statement.iso is a disk image (the name ends in .iso), which can hide programs from "
        "mail filters."),
    "attachment.type-mismatch": (
        lambda: analyse(ENTITY_FROM, content_type='multipart/mixed; boundary="b"',
                        raw_body=_attachment("statement.pdf", "TVqQAAMAAAAEAAAA", "application/pdf")),
        "The attachment statement.pdf is not what its name claims: its name ends in .pdf but its content is a "
        "Windows program."),
    "portal.notification": (
        lambda: analyse('"MPS Secure Messaging" <notification@secure-portal.example>',
                        "<p>You have received a secure message from Medical Protection.</p>"
                        '<a href="https://secure.secure-portal.example/read?id=1">Open</a>'),
        "The message is a secure-message notification and its links go to Secure messaging portal."),
    "portal.fake-notification": (
        lambda: analyse('"Notifications" <notify@securemsg-delivery.example>',
                        "<p>You have received a secure message from Medical Protection.</p>"
                        '<a href="https://read-securemsg.example/login">Open</a>'),
        "The message looks like a secure-message notification, but its link leads to read-securemsg.example, "
        "which is not a host of Secure messaging portal."),
    "portal.unexpected-link": (
        lambda: analyse('"MPS Secure Messaging" <notification@secure-portal.example>',
                        "<p>You have received a secure message from Medical Protection.</p>"
                        '<a href="https://read-securemsg.example/login">Open</a>'),
        "This secure-message notification links to read-securemsg.example, which is not a host of Secure "
        "messaging portal."),
    "partner.open-platform": (
        lambda: analyse('"Medical Protection" <noreply@qemailserver.com>',
                        '<a href="https://mps2.eu.qualtrics.com/jfe/form/SV_1">Take the survey</a>'),
        "Qualtrics is a platform anyone can send through, so this message proves only that it came through "
        "Qualtrics, not that Medical Protection Society wrote it; its survey link goes to mps2.eu.qualtrics.com, "
        "which the allowlist does not list as a host of Medical Protection Society."),
    "partner.brand-host": (
        lambda: analyse('"Medical Protection" <noreply@qemailserver.com>',
                        '<a href="https://mps.eu.qualtrics.com/jfe/form/SV_1">Take the survey</a>'),
        "The survey link goes to mps.eu.qualtrics.com, which the allowlist lists as a host of Medical Protection "
        "Society."),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_message_word_for_word(code: str) -> None:
    produce, expected = CASES[code]
    assert message_for(produce(), code) == expected


def test_every_code_has_a_case() -> None:
    assert set(CASES) == set(CONTENT_CODES)


def test_open_platform_without_survey_link() -> None:
    report = analyse('"Medical Protection" <noreply@qemailserver.com>', "<p>Thanks for your time.</p>")
    assert message_for(report, "partner.open-platform") == (
        "Qualtrics is a platform anyone can send through, so this message proves only that it came through "
        "Qualtrics, not that Medical Protection Society wrote it; it has no survey link on a host the allowlist "
        "lists for it.")
    assert report.open_platform_caveat is True


def test_codes_in_catalogue() -> None:
    for code, (severity, template) in CONTENT_CODES.items():
        assert CATALOGUE[code] == (severity, template)
        assert isinstance(severity, Severity)


def test_make_reason_matches_content_reason() -> None:
    reason = make_reason("link.shortener", host="bit.ly")
    assert reason.message == "A link uses the URL shortener bit.ly, which hides where it finally leads."
    assert reason.severity is Severity.WARNING


def test_quoted_text_is_sanitised() -> None:
    author = Author("x@gmail.com", "gmail.com", "Medical\tProtection\r\n  Team\x00")
    message = parse_message(b"From: x@gmail.com\r\n\r\nhello\r\n")
    report = analyse_content(message, author, None, ALLOWLIST)
    assert message_for(report, "from.display-name-brand").startswith(
        'The sender name "Medical Protection Team" uses the name "Medical Protection"')
