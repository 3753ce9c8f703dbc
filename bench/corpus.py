"""Build the benchmark corpus: realistic messages, their SMTP envelopes and a DNS snapshot.

The corpus mixes what an MPS mailbox receives: plain notes, HTML newsletters with
50 to 500 links, and messages with attachments, sent by MPS, by its survey partners,
by unrelated senders, by forgers of MPS domains and by lookalike domains. Sizes follow
a log-normal distribution with a median near 20 KB, clipped to 2 KB to 5 MB, plus a
few messages at the 5 MB end. Signed messages carry DKIM signatures made here with
freshly generated RSA 2048 and Ed25519 keys, whose public halves go into the snapshot.

Layout of a built corpus folder::

    messages/NNNNNN.eml   one raw message per file (most CRLF, some bare LF)
    manifest.jsonl        one line per message: file, envelope, sender kind, size
    dns.yaml              DNS snapshot in mpsverify's format (see its README)
    info.json             build parameters and size statistics

The same module builds the scaling inputs (one message of a given size) and the
pathological inputs.
"""

from __future__ import annotations

import base64
import json
import random
import statistics
from dataclasses import dataclass, field
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dkim
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

#: Version of the corpus layout and content; a corpus built by another version is rebuilt.
CORPUS_VERSION = 2
#: Median of the sampled target sizes. Plain and newsletter messages come out a
#: little under their target, so 24 KB gives a median message near 20 KB.
MEDIAN_SIZE = 24 * 1024
MIN_SIZE = 2 * 1024
MAX_SIZE = 5 * 1024 * 1024
#: Spread of the log-normal size distribution (natural-log standard deviation).
SIZE_SIGMA = 1.3
#: authserv-id of the receiving server that stamps Authentication-Results on the corpus.
RECEIVER = "mx.receiver.example"
BASE_TIME = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)

_WORDS = (
    "membership renewal indemnity claim advice dental medical practice patient clinical record "
    "consent complaint hearing tribunal regulator guidance webinar workshop course module risk "
    "prescribing confidentiality disclosure subscription benefit cover policy professional support "
    "team member doctor dentist nurse surgery hospital trust update notice annual review survey "
    "feedback research opinion experience invitation session register online learning resource "
    "article case report outcome safety incident reflection wellbeing service helpline legal "
    "the and of to in for with on at by from about your our this that we you will can please "
    "thank regards kind information details account payment date time next week month year"
).split()


@dataclass
class Sender:
    """One sending domain with its keys, envelope and DNS records."""

    name: str
    author_domain: str
    kind: str
    display_name: str
    local_parts: tuple[str, ...]
    ip_prefix: str
    helo: str
    bounce_domain: str
    signing_domain: str | None = None
    rsa_selector: str | None = None
    ed25519_selector: str | None = None
    dmarc: str | None = None
    spf: str | None = None
    link_hosts: tuple[str, ...] = ()
    rsa_key: bytes = b""
    ed25519_key: bytes = b""
    records: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def _senders() -> list[tuple[Sender, float]]:
    """Return the senders with their share of the corpus."""
    mps_links = ("www.medicalprotection.org", "medicalprotection.org", "members.medicalprotection.org",
                 "www.dentalprotection.org", "twitter.com", "www.linkedin.com", "www.facebook.com")
    return [
        (Sender("mps", "medicalprotection.org", "organisation", "Medical Protection",
                ("membership", "noreply", "events", "advice"), "198.51.100", "mta1.medicalprotection.org",
                "bounce.medicalprotection.org", "medicalprotection.org", "mps2026", "mps2026e",
                "v=DMARC1; p=reject; rua=mailto:dmarc@medicalprotection.org",
                "v=spf1 ip4:198.51.100.0/24 -all", mps_links), 0.30),
        (Sender("mps-news", "news.medicalprotection.org", "organisation", "MPS News",
                ("newsletter",), "203.0.113", "out.esp-mailer.example", "bounces.esp-mailer.example",
                "medicalprotection.org", "mps2026", None, None,
                "v=spf1 ip4:203.0.113.0/24 -all", mps_links), 0.12),
        (Sender("dental", "dentalprotection.org", "organisation", "Dental Protection",
                ("membership", "noreply"), "198.51.100", "mta2.dentalprotection.org",
                "dentalprotection.org", "dentalprotection.org", "dp2026", None,
                "v=DMARC1; p=quarantine", "v=spf1 ip4:198.51.100.0/24 ~all", mps_links), 0.06),
        (Sender("qualtrics", "qemailserver.com", "partner", "Medical Protection Survey",
                ("noreply",), "162.247.216", "smtp.qemailserver.com", "qemailserver.com",
                "qemailserver.com", "q2026", None, "v=DMARC1; p=reject",
                "v=spf1 ip4:162.247.216.0/22 -all", ("mps.eu.qualtrics.com", "www.qualtrics.com")), 0.06),
        (Sender("mustard", "mustard-research.com", "partner", "Mustard Research",
                ("surveys",), "192.0.2", "mail.mustard-research.com", "mustard-research.com",
                "mustard-research.com", "mr1", "mr1e", "v=DMARC1; p=none",
                "v=spf1 ip4:192.0.2.0/25 -all", ("www.mustard-research.com",)), 0.04),
        (Sender("nhs", "nhs.net", "unrelated", "NHS Mail",
                ("j.smith", "a.patel", "practice.manager"), "194.72.30", "relay.nhs.net", "nhs.net",
                "nhs.net", "nhs1", None, "v=DMARC1; p=reject",
                "v=spf1 ip4:194.72.30.0/24 -all", ("www.nhs.uk", "digital.nhs.uk")), 0.12),
        (Sender("gmail", "gmail.com", "unrelated", "",
                ("drjones", "sarah.lee1980", "dentist.tom"), "209.85.220", "mail-sor-f41.google.com",
                "gmail.com", "gmail.com", "20230601", None, "v=DMARC1; p=none",
                "v=spf1 ip4:209.85.128.0/17 ~all", ("docs.google.com", "www.youtube.com")), 0.10),
        (Sender("retailer", "mail.shop.co.uk", "unrelated", "Shop UK",
                ("offers",), "185.12.80", "mta.shop-esp.example", "bounce.shop-esp.example",
                None, None, None, None, "v=spf1 ip4:185.12.80.0/24 -all",
                ("www.shop.co.uk", "click.shop.co.uk")), 0.08),
        (Sender("spoofed", "medicalprotection.org", "spoofed", "Medical Protection Society",
                ("membership", "billing"), "45.95.168", "vps-4521.host.example", "mailer.host.example",
                None, None, None, None, "v=spf1 ip4:45.95.168.0/24 ?all",
                ("medicalprotection-renewal.example", "www.medicalprotection.org")), 0.07),
        (Sender("lookalike", "medicalprotectlon.org", "impersonation", "Medical Protection Society",
                ("membership",), "91.215.85", "mail.medicalprotectlon.org", "medicalprotectlon.org",
                "medicalprotectlon.org", "default", None, None, "v=spf1 ip4:91.215.85.0/24 -all",
                ("medicalprotectlon.org", "bit.ly")), 0.05),
    ]


def _make_keys(sender: Sender, keys: dict[str, bytes]) -> None:
    """Give the sender its signing keys and add every DNS record it needs.

    ``keys`` maps a selector record name to its private key, so that two senders
    signing with the same domain and selector share one key.
    """
    records = sender.records
    if sender.spf:
        records.setdefault(sender.bounce_domain, {})["TXT"] = [sender.spf]
        records.setdefault(sender.author_domain, {}).setdefault("MX", [f"10 mx.{sender.author_domain}"])
    records.setdefault(sender.helo, {})["A"] = [f"{sender.ip_prefix}.10"]
    if sender.dmarc:
        organisational = sender.signing_domain or sender.author_domain
        records.setdefault(f"_dmarc.{organisational}", {})["TXT"] = [sender.dmarc]
    if sender.signing_domain and sender.rsa_selector:
        name = f"{sender.rsa_selector}._domainkey.{sender.signing_domain}"
        if name not in keys:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            keys[name] = key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption())
            public = key.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
            records[name] = {"TXT": [f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}"]}
        sender.rsa_key = keys[name]
    if sender.signing_domain and sender.ed25519_selector:
        name = f"{sender.ed25519_selector}._domainkey.{sender.signing_domain}"
        if name not in keys:
            edkey = ed25519.Ed25519PrivateKey.generate()
            seed = edkey.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                       serialization.NoEncryption())
            keys[name] = base64.b64encode(seed)
            raw_public = edkey.public_key().public_bytes(serialization.Encoding.Raw,
                                                         serialization.PublicFormat.Raw)
            records[name] = {"TXT": [f"v=DKIM1; k=ed25519; p={base64.b64encode(raw_public).decode()}"]}
        sender.ed25519_key = keys[name]


def _merge_records(senders: list[Sender]) -> dict[str, dict[str, list[str]]]:
    merged: dict[str, dict[str, list[str]]] = {}
    for sender in senders:
        for name, types in sender.records.items():
            merged.setdefault(name, {}).update(types)
    return merged


# Message bodies


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 20))]
    return " ".join(words).capitalize() + "."


def _paragraphs(rng: random.Random, size: int) -> list[str]:
    paragraphs: list[str] = []
    total = 0
    while total < size:
        paragraph = " ".join(_sentence(rng) for _ in range(rng.randint(2, 6)))
        paragraphs.append(paragraph)
        total += len(paragraph) + 2
    return paragraphs


def _wrap(text: str, width: int = 76) -> str:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return "\r\n".join(lines)


def _link(rng: random.Random, hosts: tuple[str, ...], index: int) -> str:
    host = rng.choice(hosts)
    path = "/".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3)))
    return f"https://{host}/{path}?utm_source=newsletter&amp;utm_campaign=dec26&amp;id={index}"


def _html(rng: random.Random, sender: Sender, link_count: int, text_size: int) -> str:
    rows = ['<!DOCTYPE html>', '<html><head><meta charset="utf-8"><title>Update</title>',
            '<style>td{font-family:Arial,sans-serif;font-size:14px}</style></head><body>',
            '<table width="600" cellpadding="0" cellspacing="0" border="0">']
    paragraphs = _paragraphs(rng, text_size)
    hosts = sender.link_hosts or (sender.author_domain,)
    for index in range(max(link_count, len(paragraphs))):
        cells = []
        if index < len(paragraphs):
            cells.append(f"<p>{paragraphs[index]}</p>")
        if index < link_count:
            label = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 5)))
            cells.append(f'<a href="{_link(rng, hosts, index)}" style="color:#00558c">{label}</a>')
        rows.append(f"<tr><td>{''.join(cells)}</td></tr>")
    rows += ["</table>", "</body></html>"]
    return "\r\n".join(rows)


def _qp_safe(text: str) -> str:
    """Wrap long HTML lines so the part stays within the 998-octet line limit without encoding."""
    out: list[str] = []
    for line in text.split("\r\n"):
        while len(line) > 900:
            cut = line.rfind(" ", 0, 900)
            cut = cut if cut > 0 else 900
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return "\r\n".join(out)


def _base64_lines(data: bytes) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return "\r\n".join(encoded[i: i + 76] for i in range(0, len(encoded), 76))


_ATTACHMENTS = (
    ("application/pdf", "Membership-certificate-2027.pdf", b"%PDF-1.7\n"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Case-notes.docx", b"PK\x03\x04"),
    ("image/png", "chart.png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", "photo.jpg", b"\xff\xd8\xff\xe0"),
    ("text/calendar", "invite.ics", b"BEGIN:VCALENDAR\r\n"),
)


def _attachment(rng: random.Random, boundary: str, payload_size: int) -> str:
    content_type, filename, magic = rng.choice(_ATTACHMENTS)
    data = magic + rng.randbytes(max(0, payload_size - len(magic)))
    return (f"--{boundary}\r\nContent-Type: {content_type}; name=\"{filename}\"\r\n"
            f"Content-Disposition: attachment; filename=\"{filename}\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{_base64_lines(data)}\r\n")


def _alternative(rng: random.Random, sender: Sender, boundary: str, link_count: int, text_size: int) -> str:
    text = _wrap("\n".join(_paragraphs(rng, text_size)))
    html = _qp_safe(_html(rng, sender, link_count, text_size))
    return (f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"{text}\r\n--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n{html}\r\n--{boundary}--\r\n")


def build_body(rng: random.Random, sender: Sender, kind: str, target: int) -> tuple[str, str]:
    """Return (Content-Type value, body) for one message of roughly ``target`` bytes."""
    if kind == "plain":
        text = _wrap("\n".join(_paragraphs(rng, max(100, target - 1100 if target > 2048 else target - 900))))
        return "text/plain; charset=utf-8", text + "\r\n"
    if kind == "newsletter":
        links = min(500, max(50, target // 300))
        text_size = max(500, target - 1500 - links * 260) // 2
        boundary = f"=_alt_{rng.getrandbits(48):012x}"
        return f'multipart/alternative; boundary="{boundary}"', _alternative(rng, sender, boundary, links, text_size)
    if kind == "alternative":
        boundary = f"=_alt_{rng.getrandbits(48):012x}"
        text_size = max(300, (target - 2000) // 3)
        return (f'multipart/alternative; boundary="{boundary}"',
                _alternative(rng, sender, boundary, rng.randint(1, 6), text_size))
    outer = f"=_mix_{rng.getrandbits(48):012x}"
    inner = f"=_alt_{rng.getrandbits(48):012x}"
    body_part = _alternative(rng, sender, inner, rng.randint(2, 10), rng.randint(600, 3000))
    parts = [f"--{outer}\r\nContent-Type: multipart/alternative; boundary=\"{inner}\"\r\n\r\n{body_part}"]
    count = rng.choice((1, 1, 1, 2, 3))
    remaining = max(300, target - len(body_part) - 2000)
    for _ in range(count):
        # base64 grows data by 4/3 plus line breaks (78 bytes per 57 raw bytes).
        parts.append(_attachment(rng, outer, remaining * 57 // 78 // count))
    return f'multipart/mixed; boundary="{outer}"', "".join(parts) + f"--{outer}--\r\n"


def _kind_for(rng: random.Random, target: int) -> str:
    if target < 8 * 1024:
        return rng.choices(("plain", "alternative"), (0.6, 0.4))[0]
    if target < 60 * 1024:
        return rng.choices(("newsletter", "alternative", "attachment", "plain"), (0.45, 0.2, 0.3, 0.05))[0]
    if target < 160 * 1024:
        return rng.choices(("attachment", "newsletter"), (0.7, 0.3))[0]
    return "attachment"


@dataclass(frozen=True)
class Envelope:
    """The SMTP envelope a corpus message arrived with."""

    client_ip: str
    helo: str
    mail_from: str


def build_message(rng: random.Random, sender: Sender, kind: str, target: int, index: int,
                  line_endings: str = "crlf", minimal: bool = False) -> tuple[bytes, Envelope]:
    """Build, sign and return one message and its envelope."""
    local = rng.choice(sender.local_parts)
    author = f"{local}@{sender.author_domain}"
    from_field = f'"{sender.display_name}" <{author}>' if sender.display_name else author
    sent = BASE_TIME + timedelta(minutes=index * 7)
    client_ip = f"{sender.ip_prefix}.{rng.randint(10, 60)}"
    message_id = f"<{rng.getrandbits(64):016x}.{index}@{sender.helo}>"
    content_type, body = build_body(rng, sender, kind, target)
    subject = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 9))).capitalize()
    recipient = f"dr.member{index % 500}@practice{index % 37}.example"
    headers = [
        f"Received: from {sender.helo} ({sender.helo} [{client_ip}])\r\n\tby {RECEIVER} with ESMTPS id "
        f"{rng.getrandbits(40):010x}\r\n\tfor <{recipient}>; {format_datetime(sent + timedelta(seconds=3))}",
        f"Received: from app{rng.randint(1, 9)}.internal ([10.1.{rng.randint(0, 9)}.{rng.randint(1, 250)}])"
        f"\r\n\tby {sender.helo} with ESMTP; {format_datetime(sent + timedelta(seconds=1))}",
        f"Authentication-Results: {RECEIVER};\r\n\tspf=pass smtp.mailfrom={sender.bounce_domain}",
        f"Return-Path: <bounce-{index}@{sender.bounce_domain}>",
        f"From: {from_field}",
        f"To: <{recipient}>",
        f"Subject: {subject}",
        f"Date: {format_datetime(sent)}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        f"Content-Type: {content_type}",
    ]
    if minimal:
        # Only what a signed message needs, for the smallest scaling input.
        headers = [field for field in headers if field.split(":", 1)[0] in ("From", "To", "Subject", "Date")]
    if kind == "newsletter":
        headers.append(f"List-Unsubscribe: <https://{sender.author_domain}/unsubscribe?u={index}>")
        headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        headers.append("Precedence: bulk")
    if kind == "plain":
        headers.append("Content-Transfer-Encoding: 8bit")
    headers.append(f"X-Mailer: {rng.choice(('Microsoft Outlook 16.0', 'Salesforce Marketing Cloud', 'Postfix'))}")
    message = ("\r\n".join(headers) + "\r\n\r\n" + body).encode("utf-8")
    if line_endings == "lf":
        message = message.replace(b"\r\n", b"\n")
    message = _sign(rng, sender, message)
    return message, Envelope(client_ip, sender.helo, f"bounce-{index}@{sender.bounce_domain}")


_SIGNED_FIELDS = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
                  b"list-unsubscribe"]


def _sign(rng: random.Random, sender: Sender, message: bytes) -> bytes:
    if not sender.signing_domain or not sender.rsa_key:
        return message
    newline = b"\r\n" if b"\r\n" in message[:200] else b"\n"
    signatures = b""
    if sender.ed25519_key and rng.random() < 0.5:
        signatures += dkim.sign(message, sender.ed25519_selector.encode(), sender.signing_domain.encode(),
                                sender.ed25519_key, include_headers=_SIGNED_FIELDS,
                                canonicalize=(b"relaxed", b"relaxed"), signature_algorithm=b"ed25519-sha256",
                                linesep=newline)
    signatures += dkim.sign(message, sender.rsa_selector.encode(), sender.signing_domain.encode(), sender.rsa_key,
                            include_headers=_SIGNED_FIELDS, canonicalize=(b"relaxed", b"relaxed"),
                            linesep=newline)
    return signatures + message


def sample_size(rng: random.Random) -> int:
    """Draw a message size from the corpus distribution, in bytes."""
    size = int(rng.lognormvariate(0, SIZE_SIGMA) * MEDIAN_SIZE)
    return min(MAX_SIZE, max(MIN_SIZE, size))


def build_corpus(folder: Path, count: int, seed: int = 2026) -> dict[str, object]:
    """Write a corpus of ``count`` messages to ``folder`` and return its info record."""
    rng = random.Random(seed)
    senders = _senders()
    keys: dict[str, bytes] = {}
    for sender, _share in senders:
        _make_keys(sender, keys)
    messages = folder / "messages"
    messages.mkdir(parents=True, exist_ok=True)
    sizes = [sample_size(rng) for _ in range(count)]
    # The tail of a log-normal sample this small rarely reaches 5 MB, so a few
    # messages are pinned at the top of the range.
    for slot in range(min(3, count // 500)):
        sizes[(slot + 1) * count // 4] = MAX_SIZE
    lines = []
    actual_sizes = []
    for index, target in enumerate(sizes):
        sender = rng.choices([s for s, _ in senders], [share for _, share in senders])[0]
        kind = _kind_for(rng, target)
        endings = "lf" if rng.random() < 0.1 else "crlf"
        data, envelope = build_message(rng, sender, kind, target, index, endings)
        name = f"messages/{index:06d}.eml"
        (folder / name).write_bytes(data)
        actual_sizes.append(len(data))
        lines.append(json.dumps({"file": name, "client_ip": envelope.client_ip, "helo": envelope.helo,
                                 "mail_from": envelope.mail_from, "sender": sender.name,
                                 "sender_kind": sender.kind, "kind": kind, "size": len(data)}))
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = _merge_records([sender for sender, _ in senders])
    (folder / "dns.yaml").write_text(yaml.safe_dump(records, sort_keys=True, width=10_000), encoding="utf-8")
    info: dict[str, object] = {
        "version": CORPUS_VERSION, "count": count, "seed": seed,
        "size_min": min(actual_sizes), "size_median": int(statistics.median(actual_sizes)),
        "size_max": max(actual_sizes), "size_total": sum(actual_sizes),
    }
    (folder / "info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def load_info(folder: Path) -> dict[str, object] | None:
    """Return the info record of a built corpus, or None when it is missing or stale."""
    try:
        info = json.loads((folder / "info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and info.get("version") == CORPUS_VERSION else None


# Scaling and pathological inputs, all from the MPS sender so that every check runs.


def scaling_message(folder: Path, size: int, seed: int = 7) -> tuple[bytes, Envelope]:
    """Build one signed MPS message with an attachment, of about ``size`` bytes."""
    rng = random.Random(seed)
    sender = _scaling_sender(folder)
    # One RSA signature only, so that every size carries the same signature work.
    sender.ed25519_key = b""
    kind = "plain" if size < 4096 else "attachment"
    return build_message(rng, sender, kind, size, 1, minimal=size < 2048)


def _scaling_sender(folder: Path) -> Sender:
    """Return the MPS sender with keys stored in ``folder``, creating them once."""
    sender = _senders()[0][0]
    key_file = folder / "scaling-keys.json"
    if key_file.exists():
        stored = json.loads(key_file.read_text(encoding="utf-8"))
        sender.rsa_key = stored["rsa"].encode()
        sender.ed25519_key = stored["ed25519"].encode()
        sender.records = stored["records"]
        return sender
    _make_keys(sender, {})
    folder.mkdir(parents=True, exist_ok=True)
    key_file.write_text(json.dumps({"rsa": sender.rsa_key.decode(), "ed25519": sender.ed25519_key.decode(),
                                    "records": sender.records}), encoding="utf-8")
    (folder / "scaling-dns.yaml").write_text(yaml.safe_dump(sender.records, width=10_000), encoding="utf-8")
    return sender


def _plain_headers(extra: str, content_type: str) -> str:
    return ("From: \"Medical Protection\" <membership@medicalprotection.org>\r\n"
            "To: <dr.member@practice.example>\r\nSubject: Pathological input\r\n"
            "Date: Tue, 01 Dec 2026 09:00:00 +0000\r\nMessage-ID: <patho@medicalprotection.org>\r\n"
            f"MIME-Version: 1.0\r\n{extra}Content-Type: {content_type}\r\n")


def pathological_messages(folder: Path) -> dict[str, tuple[bytes, Envelope]]:
    """Build the pathological inputs, each signed by the MPS sender."""
    rng = random.Random(11)
    sender = _scaling_sender(folder)
    envelope = Envelope(f"{sender.ip_prefix}.20", sender.helo, f"bounce@{sender.bounce_domain}")
    inputs: dict[str, bytes] = {}

    many_fields = "".join(f"X-Trace-{i}: hop {i} {rng.getrandbits(32):08x}\r\n" for i in range(10_000))
    inputs["10,000 header fields"] = (_plain_headers(many_fields, "text/plain") + "\r\nHello.\r\n").encode()

    links = "\r\n".join(f'<a href="https://www.medicalprotection.org/item/{i}">item {i}</a><br>'
                        for i in range(100_000))
    inputs["100,000 links"] = (_plain_headers("", "text/html; charset=utf-8") + "\r\n<html><body>\r\n"
                               + links + "\r\n</body></html>\r\n").encode()

    nested = []
    for depth in range(1000):
        nested.append(f'--b{depth}\r\nContent-Type: multipart/mixed; boundary="b{depth + 1}"\r\n\r\n')
    nested.append("--b1000\r\nContent-Type: text/plain\r\n\r\ninnermost\r\n--b1000--\r\n")
    nested += [f"--b{depth}--\r\n" for depth in reversed(range(1000))]
    inputs["1,000 nested parts"] = (_plain_headers("", 'multipart/mixed; boundary="b0"') + "\r\n"
                                    + "".join(nested)).encode()

    long_value = " ".join(f"{rng.getrandbits(32):08x}" for _ in range(1024 * 1024 // 9))
    inputs["1 MB header line"] = (_plain_headers(f"X-Long: {long_value}\r\n", "text/plain")
                                  + "\r\nHello.\r\n").encode()
    return {name: (_sign(rng, sender, data), envelope) for name, data in inputs.items()}
