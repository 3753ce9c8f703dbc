"""Header fields that a mail filter adds to a checked message.

Two fields are built from a :class:`~mpsverify.results.Verification`:

* ``X-MPS-Verdict``: the verdict, the entity and the reason codes, as MIME-style
  parameters, for mail rules and helpdesk tools.
* ``Authentication-Results`` (RFC 8601): the SPF, DKIM, DMARC and ARC results
  under the filter's authserv-id, for software that reads the standard field.

Several values in them come from the message itself (the DKIM ``d=`` and ``s=``
tags, the author domain, the envelope domain), so an attacker controls them.
Every value passes through :func:`clean_text` and is written either as a token
or as a quoted-string (RFC 2045 section 5.1, RFC 5322 section 3.2.4). The output
is printable ASCII, with CRLF only where a field is folded and each fold
followed by a tab, so no value can end the field or start a second one.

A filter should also delete fields of the same names that arrived with the
message before adding its own (RFC 8601 section 5): :func:`remove_fields`
does that on the raw bytes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import ConfigError
from .results import Status, Verification

VERDICT_FIELD = "X-MPS-Verdict"
AUTHRES_FIELD = "Authentication-Results"

#: RFC 5322 section 2.1.1: lines should be at most 78 characters.
FOLD_WIDTH = 78
#: Values longer than this are cut, so that no unfoldable line nears the
#: 998-character limit of RFC 5322 section 2.1.1.
MAX_VALUE_LENGTH = 200

# RFC 2045 section 5.1: token characters are printable ASCII except space and tspecials.
_TOKEN = re.compile(r"^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$")
_FIELD_NAME = re.compile(r"^[!-9;-~]+$")
# A domain name in LDH form: the only domain form written without quotes.
_DOMAIN = re.compile(r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
                     r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")

#: RFC 8601 result values each method may report; other statuses are left out.
_METHOD_RESULTS = {
    "spf": {"pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"},
    "dkim": {"pass", "fail", "neutral", "none", "temperror", "permerror", "policy"},
    "dmarc": {"pass", "fail", "none", "temperror", "permerror"},
    "arc": {"pass", "fail", "none"},
}


@dataclass(frozen=True)
class HeaderField:
    """One header field ready to add: its name and its folded value."""

    name: str
    #: The value after the colon, folded with CRLF and a tab, without a final CRLF.
    value: str

    def to_string(self, linesep: str = "\r\n") -> str:
        """Return "Name: value" ending in ``linesep``, with folds written as ``linesep``."""
        return f"{self.name}: {self.value}".replace("\r\n", linesep) + linesep

    def to_bytes(self, linesep: bytes = b"\r\n") -> bytes:
        """Return the field as ASCII bytes, for :func:`prepend_fields`."""
        return self.to_string(linesep.decode("ascii")).encode("ascii")


def clean_text(value: object, max_length: int = MAX_VALUE_LENGTH) -> str:
    """Make ``value`` safe for a header: printable ASCII only, no line breaks.

    Control characters (CR, LF, NUL and the rest of Unicode category C) and line
    and paragraph separators become a space, and runs of white space collapse to one.
    Other non-ASCII characters are decomposed (NFKD) and kept when that yields
    ASCII, else replaced by "?". The result is cut to ``max_length`` characters.
    """
    text = unicodedata.normalize("NFKD", str(value))
    characters = []
    for character in text:
        category = unicodedata.category(character)
        if category.startswith("C") or category in ("Zl", "Zp", "Zs"):
            characters.append(" ")
        elif category == "Mn":
            continue  # a combining accent left over from NFKD
        elif character.isascii():
            characters.append(character)
        else:
            characters.append("?")
    cleaned = " ".join("".join(characters).split())
    return cleaned[:max_length].rstrip()


def quote(value: object) -> str:
    """Return ``value`` cleaned and written as a token when it is one, else as a quoted-string."""
    text = clean_text(value)
    if text and _TOKEN.match(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def domain_value(value: object) -> str:
    """Return a domain for a property value: bare in LDH or A-label form, else quoted.

    An internationalised name is converted to its A-labels with IDNA 2003 (the
    codec in Python's standard library) where that works.
    """
    text = str(value).strip().rstrip(".")
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            return quote(text)
    if _DOMAIN.match(text) and len(text) <= 253:
        return text.lower()
    return quote(text)


def check_authserv_id(authserv_id: str) -> str:
    """Return ``authserv_id`` when it is a token, the form RFC 8601 section 2.5 expects.

    Raises ConfigError otherwise, because the id comes from the caller's settings.
    """
    if not authserv_id or not _TOKEN.match(authserv_id) or len(authserv_id) > MAX_VALUE_LENGTH:
        raise ConfigError(f"the authserv-id {authserv_id!r} is not valid: use the host name of the "
                          f"checking server, such as mx.example.org")
    return authserv_id


def fold(name: str, parts: Sequence[str]) -> str:
    """Join value ``parts`` with spaces, folding between parts to keep lines within FOLD_WIDTH.

    A part is never split, so a long part gets a line of its own. ``parts`` must
    already be cleaned: none may contain CR or LF.
    """
    lines: list[str] = []
    current = ""
    width = len(name) + 2
    for part in parts:
        if any(character in part for character in "\r\n\0"):
            raise ValueError(f"a header part contains a line break or NUL: {part!r}")
        candidate = f"{current} {part}" if current else part
        if current and width + len(candidate) > FOLD_WIDTH:
            lines.append(current)
            current, width = part, 1
        else:
            current = candidate
    lines.append(current)
    return "\r\n\t".join(lines)


def verdict_field(result: Verification) -> HeaderField:
    """Build the X-MPS-Verdict field for ``result``.

    Example: ``X-MPS-Verdict: spoofed; entity="Medical Protection Society";
    author-domain=medicalprotection.org; reasons="from.multiple-headers dmarc.fail"``.
    """
    parts = [result.verdict.value + ";"]
    entity = result.entity or result.claimed_entity
    if entity:
        parts.append(f"entity={quote(entity)};")
    if result.author is not None:
        parts.append(f"author-domain={domain_value(result.author.domain)};")
    parts += _quoted_words("reasons", sorted({clean_text(reason.code) for reason in result.reasons}))
    return HeaderField(VERDICT_FIELD, fold(VERDICT_FIELD, parts))


def _quoted_words(name: str, words: Sequence[str]) -> list[str]:
    """Return ``name="word1 word2 ..."`` as parts, so that a long list folds between words.

    RFC 5322 section 3.2.4 allows folding white space inside a quoted-string, and
    unfolding restores the single space.
    """
    escaped = [word.replace("\\", "\\\\").replace('"', '\\"') for word in words if word]
    if not escaped:
        return [f'{name}=""']
    escaped[0] = f'{name}="' + escaped[0]
    escaped[-1] += '"'
    return escaped


def authentication_results_field(result: Verification, authserv_id: str) -> HeaderField:
    """Build the RFC 8601 Authentication-Results field for ``result`` under ``authserv_id``.

    Methods that were not checked are left out; with none left the value is
    "authserv-id; none" (RFC 8601 section 2.2).
    """
    resinfo = list(_spf_results(result)) + list(_dkim_results(result)) + list(_dmarc_results(result))
    resinfo += list(_arc_results(result))
    parts = [check_authserv_id(authserv_id) + ";"]
    if not resinfo:
        parts.append("none")
    for index, method_parts in enumerate(resinfo):
        last = index == len(resinfo) - 1
        parts += method_parts[:-1] + [method_parts[-1] + ("" if last else ";")]
    return HeaderField(AUTHRES_FIELD, fold(AUTHRES_FIELD, parts))


def _result_value(method: str, status: Status) -> str | None:
    value = status.value
    return value if value in _METHOD_RESULTS[method] else None


def _spf_results(result: Verification) -> Iterable[list[str]]:
    value = _result_value("spf", result.spf.status)
    if value is None:
        return
    parts = [f"spf={value}"]
    if result.spf.domain:
        prop = "smtp.helo" if result.spf.scope == "helo" else "smtp.mailfrom"
        parts.append(f"{prop}={domain_value(result.spf.domain)}")
    yield parts


def _dkim_results(result: Verification) -> Iterable[list[str]]:
    for signature in result.dkim:
        value = _result_value("dkim", signature.status)
        if value is None:
            continue
        parts = [f"dkim={value}"]
        if signature.domain:
            parts.append(f"header.d={domain_value(signature.domain)}")
        if signature.selector:
            parts.append(f"header.s={quote(signature.selector)}")
        if signature.algorithm:
            parts.append(f"header.a={quote(signature.algorithm)}")
        yield parts


def _dmarc_results(result: Verification) -> Iterable[list[str]]:
    value = _result_value("dmarc", result.dmarc.status)
    if value is None or result.author is None:
        return
    yield [f"dmarc={value}", f"header.from={domain_value(result.author.domain)}"]


def _arc_results(result: Verification) -> Iterable[list[str]]:
    value = _result_value("arc", result.arc.status)
    if value is None or result.arc.status is Status.NONE:
        return
    yield [f"arc={value}"]


def remove_fields(message: bytes, name: str, authserv_id: str | None = None) -> bytes:
    """Remove header fields called ``name`` (with their continuation lines) from a raw message.

    With ``authserv_id``, only fields whose value starts with that authserv-id are
    removed, as RFC 8601 section 5 requires of a server that adds its own
    Authentication-Results. The body is left byte for byte as it was.
    """
    if message.startswith((b"\r\n", b"\n")):
        return message  # no header section
    key = name.lower().encode("ascii")
    wanted_id = authserv_id.lower().encode("ascii") if authserv_id else None
    match = re.search(rb"\r?\n\r?\n", message)
    # The header section ends after the line break of its last line.
    end = message.index(b"\n", match.start()) + 1 if match else len(message)
    lines = message[:end].splitlines(keepends=True)
    kept: list[bytes] = []
    dropping = False
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        field_name, colon, rest = line.partition(b":")
        dropping = bool(colon) and field_name.strip().lower() == key and \
            (wanted_id is None or _authserv_id_of(rest) == wanted_id)
        if not dropping:
            kept.append(line)
    return b"".join(kept) + message[end:]


def _authserv_id_of(value: bytes) -> bytes:
    """Return the authserv-id at the start of an Authentication-Results value, lower-cased."""
    text = re.sub(rb"\([^()]*\)", b" ", value)  # comments, one level deep
    return text.strip().split(b";", 1)[0].strip().split(b" ", 1)[0].lower()


def prepend_fields(message: bytes, fields: Sequence[HeaderField]) -> bytes:
    """Return ``message`` with ``fields`` added at the top, in the message's own line ending."""
    first_line_end = message.find(b"\n")
    linesep = b"\r\n" if first_line_end > 0 and message[first_line_end - 1:first_line_end] == b"\r" else b"\n"
    if first_line_end < 0:
        linesep = b"\r\n"
    return b"".join(field.to_bytes(linesep) for field in fields) + message
