"""Extract links and visible text from the text parts of a message.

HTML is read with the standard library's HTMLParser, which follows the HTML
tokenisation rules closely enough for mail: anchors keep their visible text, and
area hrefs, form actions and image sources are collected too. URLs written as plain
text are found in text/plain parts and in HTML text outside anchors.

Work is bounded: at most ``MAX_LINKS`` links and ``MAX_TEXT_CHARS`` characters of
text per message are read, and reaching either bound is reported.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

from ..message import ParsedMessage

logger = logging.getLogger(__name__)

#: Links read per message. A newsletter has a few hundred; past this, the rest of
#: the message is not checked, and that is reported.
MAX_LINKS = 2000
#: Characters of text (HTML markup included) read per message, over all text parts.
MAX_TEXT_CHARS = 1_000_000
#: HTML start tags read per message. HTMLParser handles about 130,000 tags a second
#: (measured with CPython 3.11 on the 2-core development machine), so this bounds
#: the time spent on tag soup; a large newsletter has about 10,000.
MAX_TAGS = 50_000
#: Characters of visible text kept for wording checks such as portal notifications.
MAX_VISIBLE_TEXT = 200_000
#: Characters of an anchor's visible text kept.
MAX_ANCHOR_TEXT = 1000

_FEED_CHUNK = 32_768
_BARE_URL = re.compile(r"(?i)(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"'`{}|\\^\[\]]+")
_TRAILING_PUNCTUATION = ".,;:!?'\")]}>"


@dataclass(frozen=True)
class RawLink:
    """A link as found in the message, before normalisation."""

    url: str
    #: "a", "area", "form", "img" or "text" (a URL written in the text).
    source: str
    #: Visible text of an anchor; empty for other sources.
    text: str = ""


@dataclass(frozen=True)
class ExtractedContent:
    """Links and visible text from a message's text parts."""

    links: tuple[RawLink, ...]
    #: Visible text of every text part, up to ``MAX_VISIBLE_TEXT`` characters.
    visible_text: str
    #: Descriptions of the bounds reached, such as "the message has more than 2000 links".
    limits_hit: tuple[str, ...] = ()


@dataclass
class _Budget:
    links: int = MAX_LINKS
    chars: int = MAX_TEXT_CHARS
    tags: int = MAX_TAGS
    limits_hit: list[str] = field(default_factory=list)

    def hit(self, description: str) -> None:
        if description not in self.limits_hit:
            self.limits_hit.append(description)


def extract_content(message: ParsedMessage) -> ExtractedContent:
    """Collect links and visible text from every text/plain and text/html body part."""
    budget = _Budget()
    links: list[RawLink] = []
    texts: list[str] = []
    for part in message.parts:
        if not part.is_text_body:
            continue
        if budget.links <= 0 or budget.chars <= 0 or budget.tags <= 0:
            break
        body = part.text()
        if len(body) > budget.chars:
            budget.hit(f"its text is longer than {MAX_TEXT_CHARS} characters")
            body = body[: budget.chars]
        budget.chars -= len(body)
        if part.content_type == "text/html":
            found, text = _html_links(body, budget)
        else:
            found, text = bare_urls(body, budget), body
        links.extend(found)
        texts.append(text[:MAX_VISIBLE_TEXT])
    visible = "\n".join(texts)[:MAX_VISIBLE_TEXT]
    return ExtractedContent(tuple(links), visible, tuple(budget.limits_hit))


def bare_urls(text: str, budget: _Budget | None = None) -> list[RawLink]:
    """Find URLs written as plain text, such as https://example.com/x or www.example.com."""
    links = []
    for match in _BARE_URL.finditer(text):
        if budget is not None:
            if budget.links <= 0:
                budget.hit(f"it has more than {MAX_LINKS} links")
                break
            budget.links -= 1
        links.append(RawLink(_trim_url(match.group(0)), "text"))
    return links


def _trim_url(url: str) -> str:
    while url and url[-1] in _TRAILING_PUNCTUATION:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _html_links(html: str, budget: _Budget) -> tuple[list[RawLink], str]:
    parser = _LinkParser(budget)
    for start in range(0, len(html), _FEED_CHUNK):
        parser.feed(html[start: start + _FEED_CHUNK])
        if budget.links <= 0:
            budget.hit(f"it has more than {MAX_LINKS} links")
            break
        if budget.tags <= 0:
            budget.hit(f"its HTML has more than {MAX_TAGS} tags")
            break
    else:
        parser.close()
    parser.finish_anchor()
    outside = "".join(parser.outside_text)
    links = parser.links + bare_urls(outside, budget)
    return links, outside + " " + " ".join(parser.anchor_texts)


class _LinkParser(HTMLParser):
    """Collect anchors with their visible text, other link attributes, and text outside anchors."""

    def __init__(self, budget: _Budget) -> None:
        super().__init__(convert_charrefs=True)
        self.budget = budget
        self.links: list[RawLink] = []
        self.outside_text: list[str] = []
        self.anchor_texts: list[str] = []
        self.base = ""
        self._anchor_href: str | None = None
        self._anchor_text: list[str] = []
        self._anchor_length = 0
        self._hidden_depth = 0
        self._text_length = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.budget.tags -= 1
        values = {name: value or "" for name, value in attrs}
        if tag in ("script", "style", "title"):
            self._hidden_depth += 1
        elif tag == "base" and not self.base:
            self.base = values.get("href", "")
        elif tag == "a":
            self.finish_anchor()
            if "href" in values:
                self._anchor_href = values["href"]
        elif tag == "area" and "href" in values:
            self._add(values["href"], "area")
        elif tag == "form" and values.get("action"):
            self._add(values["action"], "form")
        elif tag == "img" and values.get("src"):
            self._add(values["src"], "img")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title"):
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag == "a":
            self.finish_anchor()

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        if self._anchor_href is not None:
            if self._anchor_length < MAX_ANCHOR_TEXT:
                self._anchor_text.append(data)
                self._anchor_length += len(data)
            return
        if self._text_length < MAX_VISIBLE_TEXT:
            self.outside_text.append(data)
            self._text_length += len(data)

    def finish_anchor(self) -> None:
        """Record the open anchor, if any, with the text collected so far."""
        if self._anchor_href is None:
            return
        text = " ".join("".join(self._anchor_text).split())[:MAX_ANCHOR_TEXT]
        self._add(self._anchor_href, "a", text)
        self.anchor_texts.append(text)
        self._anchor_href = None
        self._anchor_text = []
        self._anchor_length = 0

    def _add(self, url: str, source: str, text: str = "") -> None:
        if self.budget.links <= 0:
            return
        self.budget.links -= 1
        if self.base and not _has_scheme_or_authority(url):
            url = _resolve(self.base, url)
        self.links.append(RawLink(url, source, text))


def _has_scheme_or_authority(url: str) -> bool:
    stripped = url.strip()
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", stripped)) or stripped.startswith(("//", "\\\\"))


def _resolve(base: str, url: str) -> str:
    try:
        return urljoin(base.strip(), url.strip())
    except ValueError:
        return url
