"""Fold text to a visual skeleton, so that strings that look alike compare equal.

The idea is the skeleton of Unicode Technical Standard #39 (Security Mechanisms),
section 4: map every character to a prototype that looks the same, so that
"medicalprotectіon" with a Cyrillic "і" and "medicalprotection" get one skeleton.
Character data comes from the confusable_homoglyphs package, which ships the
Unicode consortium's confusables.txt as JSON.

NOTE: this is a simplified skeleton. It maps to ASCII prototypes only, applies
NFKC and case folding first and drops combining marks, and adds a few ASCII
look-alikes (rn/m, vv/w, 0/o, 1/l, i/l) that confusables.txt does not map.
It is meant for comparing domain labels and display names with known brands,
not as a general TR39 implementation.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Iterable

from confusable_homoglyphs import confusables

logger = logging.getLogger(__name__)

_DIRECTION_MARKS = "\u200e\u200f"
# Applied after mapping to ASCII; both sides of every comparison are folded alike.
_ASCII_LOOKALIKES = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("i", "l"), ("|", "l"))
_ASCII_FOLD = re.compile("|".join(re.escape(source) for source, _ in _ASCII_LOOKALIKES))
_ASCII_TARGETS = dict(_ASCII_LOOKALIKES)


@functools.cache
def _prototype_map() -> dict[str, str]:
    """Map each non-ASCII character that confusables.txt relates to ASCII to that ASCII text."""
    mapping: dict[str, str] = {}
    data: dict[str, list[dict[str, str]]] = confusables.confusables_data
    for character, homoglyphs in data.items():
        if len(character) != 1 or character.isascii():
            continue
        prototype = _best_ascii(homoglyph["c"].strip(_DIRECTION_MARKS) for homoglyph in homoglyphs)
        if prototype:
            mapping[character] = prototype
    return mapping


def _best_ascii(candidates: Iterable[str]) -> str:
    """Pick the ASCII prototype for one character: a lower-case letter first, then a digit."""
    usable = [c for c in candidates if c.isascii() and c.isalnum()]
    for rank in (str.islower, str.isdigit):
        for candidate in usable:
            if len(candidate) == 1 and rank(candidate):
                return candidate
    for candidate in usable:
        if candidate.lower().isalpha():
            return candidate.lower()
    return ""


def fold_to_ascii(text: str) -> str:
    """Apply NFKC, map confusable characters to ASCII, drop accents and fold case.

    Each character is mapped before case folding, because confusables.txt relates
    capitals such as Cyrillic "М" to "M" while their lower-case forms look different.
    Characters with no ASCII look-alike are kept.
    """
    normalised = unicodedata.normalize("NFKC", text)
    if normalised.isascii():
        return normalised.lower()
    mapping = _prototype_map()
    out = []
    for character in normalised:
        if character.isascii():
            out.append(character.lower())
        elif character in mapping:
            out.append(mapping[character].lower())
        else:
            out.extend(mapping.get(lower, _strip_marks(lower)).lower() for lower in character.casefold())
    return "".join(out)


def _strip_marks(character: str) -> str:
    decomposed = unicodedata.normalize("NFKD", character)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return base or character


#: Strings up to this length have their skeletons cached; longer ones are body text.
MAX_CACHED_LENGTH = 256


def skeleton(text: str) -> str:
    """Return the visual skeleton of ``text``: equal skeletons mean the strings look alike."""
    if len(text) <= MAX_CACHED_LENGTH:
        return _cached_skeleton(text)
    return _skeleton(text)


@functools.lru_cache(maxsize=8192)
def _cached_skeleton(text: str) -> str:
    return _skeleton(text)


def _skeleton(text: str) -> str:
    folded = fold_to_ascii(text)
    return _ASCII_FOLD.sub(lambda match: _ASCII_TARGETS[match.group(0)], folded)
