"""Strict parsing of the From field: exactly one mailbox, or a precise complaint.

The standard library's address parser recovers from broken input by guessing,
and attackers pick inputs where its guess differs from a mail program's: two @
signs, unbalanced angle brackets, encoded words that decode to an address. This
module tokenises the field per RFC 5322 section 3.4 first and decodes RFC 2047
encoded words only afterwards, inside the display name, so decoded text can
never become an address. email-validator then checks the address itself.
"""

from __future__ import annotations

import email.header
import re
from dataclasses import dataclass

import email_validator

from .results import Author

# RFC 5322 section 3.2.3: characters that may appear in an atom.
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\x80-\U0010ffff.]+")
_SPECIALS = set("()<>[]:;@\\,\"")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


class AddressError(ValueError):
    """The field is not valid under RFC 5322; the exception message gives the reason."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "atom", "quoted", "literal" or a single special character
    text: str


@dataclass(frozen=True)
class MailboxList:
    """Mailboxes parsed from one address field."""

    mailboxes: tuple[Author, ...]


def tokenise(value: str) -> list[_Token]:
    """Split an unfolded field body into atoms, quoted strings, literals and specials.

    Comments are dropped, as RFC 5322 gives them no meaning. Raises AddressError
    for an unterminated quoted string, comment or domain literal.
    """
    tokens: list[_Token] = []
    index = 0
    while index < len(value):
        char = value[index]
        if char in " \t\r\n":
            index += 1
        elif char == '"':
            text, index = _read_quoted(value, index)
            tokens.append(_Token("quoted", text))
        elif char == "(":
            index = _skip_comment(value, index)
        elif char == "[":
            end = value.find("]", index)
            if end < 0:
                raise AddressError("a domain literal is not closed")
            tokens.append(_Token("literal", value[index: end + 1]))
            index = end + 1
        elif char in _SPECIALS or char == ".":
            tokens.append(_Token(char, char))
            index += 1
        else:
            match = _ATEXT.match(value, index)
            if match is None:
                raise AddressError(f"the character {char!r} is not allowed here")
            tokens.append(_Token("atom", match.group()))
            index = match.end()
    return tokens


def _read_quoted(value: str, start: int) -> tuple[str, int]:
    text: list[str] = []
    index = start + 1
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            text.append(value[index + 1])
            index += 2
        elif char == '"':
            return "".join(text), index + 1
        else:
            text.append(char)
            index += 1
    raise AddressError("a quoted string is not closed")


def _skip_comment(value: str, start: int) -> int:
    depth = 0
    index = start
    while index < len(value):
        char = value[index]
        if char == "\\":
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise AddressError("a comment is not closed")


def parse_mailbox_list(value: str) -> MailboxList:
    """Parse a mailbox-list (RFC 5322 section 3.4); raises AddressError when invalid.

    Group syntax is rejected: an author must be a mailbox.
    """
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", value)
    tokens = tokenise(unfolded)
    if not tokens:
        raise AddressError("the field is empty")
    mailboxes = [_parse_mailbox(chunk) for chunk in _split_top_level(tokens)]
    return MailboxList(tuple(mailboxes))


def _split_top_level(tokens: list[_Token]) -> list[list[_Token]]:
    chunks: list[list[_Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.kind == "<":
            depth += 1
        elif token.kind == ">":
            depth -= 1
            if depth < 0:
                raise AddressError("a closing angle bracket has no opening one")
        elif token.kind in (":", ";") and depth == 0:
            raise AddressError("group syntax is not allowed for an author")
        if token.kind == "," and depth == 0:
            chunks.append([])
        else:
            chunks[-1].append(token)
    if depth != 0:
        raise AddressError("an angle bracket is not closed")
    chunks = [chunk for chunk in chunks if chunk]  # RFC 5322 section 4.4 allows empty list elements
    if not chunks:
        raise AddressError("the field contains no address")
    return chunks


def _parse_mailbox(tokens: list[_Token]) -> Author:
    opens = [i for i, token in enumerate(tokens) if token.kind == "<"]
    if not opens:
        return _validated(_addr_spec_text(tokens), "")
    if len(opens) > 1:
        raise AddressError("a mailbox has more than one angle-bracket address")
    start = opens[0]
    if tokens[-1].kind != ">":
        raise AddressError("text follows the angle-bracket address")
    phrase = tokens[:start]
    inner = _strip_route(tokens[start + 1: -1])
    if any(token.kind not in ("atom", "quoted", ".") for token in phrase):
        raise AddressError("the display name contains characters that must be quoted")
    return _validated(_addr_spec_text(inner), _display_name(phrase))


def _strip_route(tokens: list[_Token]) -> list[_Token]:
    """Drop an obsolete source route ("@a,@b:") before the address (RFC 5322 section 4.4)."""
    if not tokens or tokens[0].kind != "@":
        return tokens
    for index, token in enumerate(tokens):
        if token.kind == ":":
            return tokens[index + 1:]
    raise AddressError("a source route is not ended by a colon")


def _addr_spec_text(tokens: list[_Token]) -> str:
    if not tokens:
        raise AddressError("the angle brackets are empty")
    ats = [i for i, token in enumerate(tokens) if token.kind == "@"]
    if len(ats) != 1:
        raise AddressError("the address has no @ sign" if not ats else "the address has more than one @ sign")
    parts: list[str] = []
    for token in tokens:
        if token.kind == "quoted":
            escaped = token.text.replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'"{escaped}"')
        elif token.kind in ("atom", "literal", ".", "@"):
            parts.append(token.text)
        else:
            raise AddressError(f"the address contains the character {token.text!r}")
    return "".join(parts)


def _display_name(phrase: list[_Token]) -> str:
    words: list[str] = []
    for token in phrase:
        if token.kind == "atom" and _ENCODED_WORD.search(token.text):
            words.append(_decode_encoded_words(token.text))
        else:
            words.append(token.text)
    return re.sub(r"\s+", " ", " ".join(words).replace(" .", ".")).strip()


def _decode_encoded_words(text: str) -> str:
    try:
        pieces = email.header.decode_header(text)
    except (ValueError, email.errors.HeaderParseError):
        return text
    decoded = []
    for piece, charset in pieces:
        if isinstance(piece, bytes):
            try:
                decoded.append(piece.decode(charset or "ascii", errors="replace"))
            except LookupError:
                decoded.append(piece.decode("utf-8", errors="replace"))
        else:
            decoded.append(piece)
    return "".join(decoded)


def _validated(address: str, display_name: str) -> Author:
    try:
        checked = email_validator.validate_email(
            address, check_deliverability=False, allow_smtputf8=True,
            allow_quoted_local=True, allow_domain_literal=False, globally_deliverable=False,
        )
    except email_validator.EmailNotValidError as error:
        raise AddressError(f"{address!r} is not a valid address: {error}") from None
    domain = checked.ascii_domain or checked.domain
    return Author(address=f"{checked.local_part}@{domain.lower()}", domain=domain.lower(),
                  display_name=display_name)
