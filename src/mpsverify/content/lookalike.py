"""Detect domains that imitate an allowlisted entity domain.

A lookalike is a domain that belongs to no entity but that a reader could take for
one: medicalprotectlon.org, medical-protection.org, medicalprotection.co.uk,
xn--medicalprotecton-nwn.org (a Cyrillic "і"), or medicalprotection.org used as the
first labels of medicalprotection.org.account-check.example. The kinds follow the
permutations the dnstwist tool generates, plus the TR39-style skeleton comparison
of :mod:`.skeleton` and a bounded edit distance.

Entity domains, their subdomains, listed link hosts and neutral hosts are never
lookalikes. Per-allowlist data is built once and kept while the allowlist object
is alive, and results are cached per domain, so checking many links stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from ..allowlist import Allowlist, Entity
from ..psl import registrable_domain
from .cache import per_allowlist
from .hostindex import entity_for_host, is_neutral_host
from .skeleton import skeleton
from .urls import MAX_DNS_NAME, normalise_host

logger = logging.getLogger(__name__)

#: Plain-English description of each kind of trick, used in reason messages.
KIND_DESCRIPTIONS: dict[str, str] = {
    "leading-labels": "the real domain placed at the start of a longer address",
    "tld-swap": "the same name with a different ending",
    "homoglyph": "characters that look like the real ones",
    "omission": "a letter left out",
    "repetition": "a letter doubled",
    "transposition": "two letters swapped",
    "vowel-swap": "a vowel changed",
    "hyphenation": "hyphens added",
    "keyboard": "a letter replaced by a neighbouring key",
    "insertion": "a letter inserted",
    "addition": "a character added at the end",
    "bitsquatting": "one character changed by a single bit",
    "subdomain": "dots inserted into the name",
    "edit-distance": "a few letters changed",
    "brand-label": "the name used inside another site's address",
    "combo": "the name combined with other words",
}

#: Labels shorter than this are only compared by skeleton, never by edit distance,
#: because short names lie one edit away from many unrelated real domains.
MIN_FUZZY_LABEL = 6
#: Labels at least this long allow an edit distance of 2; shorter ones allow 1.
MIN_DISTANCE_TWO_LABEL = 10
#: Entity labels at least this long are also caught inside longer names.
MIN_COMBO_LABEL = 8
_MISSING = object()

#: Results cached per allowlist before the cache is cleared.
RESULT_CACHE_SIZE = 16384

_KEYBOARD_ROWS = ("1234567890-", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_LABEL_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"
_VOWELS = "aeiou"


@dataclass(frozen=True)
class LookalikeMatch:
    """A domain that imitates an entity domain, and how."""

    #: The domain that was checked, lower-case ASCII.
    domain: str
    #: The entity domain it imitates, such as "medicalprotection.org".
    imitated: str
    entity: Entity
    #: The trick, a key of KIND_DESCRIPTIONS such as "homoglyph" or "tld-swap".
    kind: str
    #: ``domain`` with punycode labels decoded, for showing to people.
    domain_unicode: str = ""

    @property
    def description(self) -> str:
        """The trick in plain English, such as "a letter left out"."""
        return KIND_DESCRIPTIONS.get(self.kind, self.kind)

    @property
    def shown_domain(self) -> str:
        """The domain as a reader sees it, with its ASCII form when the two differ."""
        if self.domain_unicode and self.domain_unicode != self.domain:
            return f"{self.domain_unicode} ({self.domain})"
        return self.domain


@dataclass(frozen=True)
class _Target:
    """One entity registrable domain split for comparison."""

    domain: str
    entity: Entity
    label: str
    suffix: str
    skeleton: str


def find_lookalike(domain: str, allowlist: Allowlist) -> LookalikeMatch | None:
    """Return how ``domain`` imitates an entity domain, or None when it does not.

    ``domain`` may be a host, an author domain, or a name in Unicode or punycode.
    """
    return _index_for(allowlist).find(domain, allowlist)


# -- per-allowlist index -------------------------------------------------------


@per_allowlist
def _index_for(allowlist: Allowlist) -> _LookalikeIndex:
    return _LookalikeIndex(allowlist)


class _LookalikeIndex:
    """Entity labels and their permutations, built once per allowlist."""

    def __init__(self, allowlist: Allowlist) -> None:
        # The index must not keep a reference to the allowlist, or the per-allowlist
        # cache would keep the allowlist alive forever.
        self.targets = _targets(allowlist)
        self.permutations = _permutation_table(self.targets)
        self.deletions = _deletion_table(self.targets)
        self.fuzzy_lengths = frozenset(len(target.skeleton) for target in self.targets
                                       if _distance_limit(target.skeleton))
        self.cache: dict[str, LookalikeMatch | None] = {}
        # Edit distance is the costly check and depends only on the label, which
        # many hosts of one message share.
        self.distance_cache: dict[str, tuple[_Target, str] | None] = {}

    def find(self, domain: str, allowlist: Allowlist) -> LookalikeMatch | None:
        host = normalise_host(domain.strip())
        name = host.name
        if not name or host.ip_version or "." not in name or len(name) > MAX_DNS_NAME:
            return None
        # One get, not a test then a read: another thread may clear the cache between them.
        cached = self.cache.get(name, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        if len(self.cache) >= RESULT_CACHE_SIZE:
            self.cache.clear()
            self.distance_cache.clear()
        found = self._match(name, allowlist)
        result = None if found is None else LookalikeMatch(name, found[0].domain, found[0].entity, found[1],
                                                           host.unicode_name)
        self.cache[name] = result
        if result is not None:
            logger.debug("%s imitates %s (%s)", name, result.imitated, result.kind)
        return result

    def _match(self, name: str, allowlist: Allowlist) -> tuple[_Target, str] | None:
        if entity_for_host(name, allowlist) is not None or is_neutral_host(name, allowlist):
            return None
        registrable = registrable_domain(name)
        label, _, suffix = registrable.partition(".")
        if not label or not suffix:
            return None
        candidate = _Candidate(name, registrable, label, suffix)
        for check in (self._same_label, self._leading_labels, self._homoglyph, self._permutation,
                      self._hyphenation, self._subdomain, self._edit_distance, self._brand_label, self._combo):
            found = check(candidate)
            if found is not None:
                return found
        return None

    def _leading_labels(self, candidate: _Candidate) -> tuple[_Target, str] | None:
        dotted = "." + candidate.name + "."
        for target in self.targets:
            if "." + target.domain + "." in dotted or target.domain.replace(".", "-") in candidate.name:
                return target, "leading-labels"
        return None

    def _same_label(self, candidate: _Candidate) -> tuple[_Target, str] | None:
        for target in self.targets:
            if candidate.label == target.label and candidate.suffix != target.suffix:
                return target, "tld-swap"
        return None

    def _homoglyph(self, candidate: _Candidate) -> tuple[_Target, str] | None:
        for target in self.targets:
            if candidate.skeleton == target.skeleton:
                return target, "homoglyph"
        return None

    def _permutation(self, candidate: _Candidate) -> tuple[_Target, str] | None:
        return self.permutations.get(candidate.label)

    def _hyphenation(self, candidate: _Candidate) -> tuple[_Target, str] | None:
        bare = candidate.label.replace("-", "")
        for target in self.targets:
            if "-" in candidate.label and bare == target.label.replace("-", ""):
                return target, "hyphenation"
        return None

    def _subdomain(self, candidate: _Candidate) -> tuple[_Target, str] | None:
        labels = candidate.name[: -len(candidate.suffix) - 1].split(".")
        for start in range(len(labels) - 1):
            joined = "".join(labels[start:])
            for target in self.targets:
                if joined == target.label:
                    return target, "subdomain"
        return None

    def _edit_distance(self, candidate: _Candidate) -> tuple[_Target, str] | None:
        shape = candidate.skeleton
        cached = self.distance_cache.get(shape, _MISSING)
        if cached is _MISSING:
            cached = self._nearest(shape)
            self.distance_cache[shape] = cached
        return cached  # type: ignore[return-value]

    def _nearest(self, shape: str) -> tuple[_Target, str] | None:
        if not any(abs(len(shape) - length) <= 2 for length in self.fuzzy_lengths):
            return None
        for target in _deletion_matches(shape, self.deletions):
            limit = _distance_limit(target.skeleton)
            if limit and bounded_distance(shape, target.skeleton, limit) <= limit:
                return target, "edit-distance"
        return None

    def _brand_label(self, candidate: _Candidate) -> tuple[_Target, str] | None:
        prefix = candidate.name[: -len(candidate.registrable) - 1] if candidate.name != candidate.registrable else ""
        if not prefix:
            return None
        for label in prefix.split("."):
            shape = skeleton(label)
            for target in self.targets:
                if shape == target.skeleton or (len(target.label) >= MIN_COMBO_LABEL and target.skeleton in shape):
                    return target, "brand-label"
        return None

    def _combo(self, candidate: _Candidate) -> tuple[_Target, str] | None:
        shape = candidate.skeleton.replace("-", "")
        for target in self.targets:
            if len(target.label) >= MIN_COMBO_LABEL and target.skeleton.replace("-", "") in shape:
                return target, "combo"
        return None


@dataclass(frozen=True)
class _Candidate:
    """A checked name split the same way as the targets."""

    name: str
    registrable: str
    label: str
    suffix: str

    @property
    def skeleton(self) -> str:
        return skeleton(_decode_label(self.label))


def _decode_label(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return label


def _targets(allowlist: Allowlist) -> tuple[_Target, ...]:
    seen: set[str] = set()
    targets = []
    for domain, entity in allowlist.all_domains():
        registrable = registrable_domain(domain)
        label, _, suffix = registrable.partition(".")
        if not suffix or registrable in seen:
            continue
        seen.add(registrable)
        targets.append(_Target(registrable, entity, label, suffix, skeleton(_decode_label(label))))
    return tuple(targets)


def _distance_limit(label: str) -> int:
    if len(label) >= MIN_DISTANCE_TWO_LABEL:
        return 2
    return 1 if len(label) >= MIN_FUZZY_LABEL else 0


# -- dnstwist-style permutations -------------------------------------------------


def _permutation_table(targets: tuple[_Target, ...]) -> dict[str, tuple[_Target, str]]:
    """Map every single-step permutation of each entity label to its target and kind.

    The first kind that produces a string wins, in the order of ``_permutations``.
    Real entity labels are left out, because they are not lookalikes.
    """
    real = {target.label for target in targets}
    table: dict[str, tuple[_Target, str]] = {}
    for target in targets:
        if len(target.label) < MIN_FUZZY_LABEL:
            continue
        for kind, permutation in _permutations(target.label):
            if permutation and permutation not in real and permutation not in table:
                table[permutation] = (target, kind)
    return table


def _permutations(label: str) -> Iterator[tuple[str, str]]:
    for index in range(len(label) - 1):
        if label[index] != label[index + 1]:
            yield "transposition", label[:index] + label[index + 1] + label[index] + label[index + 2:]
    for index in range(len(label)):
        yield "omission", label[:index] + label[index + 1:]
        if label[index].isalnum():
            yield "repetition", label[:index] + label[index] + label[index:]
    for index, char in enumerate(label):
        if char in _VOWELS:
            yield from (("vowel-swap", label[:index] + vowel + label[index + 1:]) for vowel in _VOWELS)
    for index in range(1, len(label)):
        yield "hyphenation", label[:index] + "-" + label[index:]
    for index, char in enumerate(label):
        for neighbour in _keyboard_neighbours(char):
            yield "keyboard", label[:index] + neighbour + label[index + 1:]
            yield "insertion", label[:index] + neighbour + label[index:]
            yield "insertion", label[: index + 1] + neighbour + label[index + 1:]
    yield from (("addition", label + char) for char in _LABEL_CHARS if char != "-")
    for index, char in enumerate(label):
        for bit in range(8):
            flipped = chr(ord(char) ^ (1 << bit))
            if flipped in _LABEL_CHARS:
                yield "bitsquatting", label[:index] + flipped + label[index + 1:]


def _keyboard_neighbours(char: str) -> str:
    for row_index, row in enumerate(_KEYBOARD_ROWS):
        column = row.find(char)
        if column < 0:
            continue
        near = [row[c] for c in (column - 1, column + 1) if 0 <= c < len(row)]
        for other in (row_index - 1, row_index + 1):
            if 0 <= other < len(_KEYBOARD_ROWS):
                near += [_KEYBOARD_ROWS[other][c] for c in (column - 1, column, column + 1)
                         if 0 <= c < len(_KEYBOARD_ROWS[other])]
        return "".join(near)
    return ""


# -- bounded edit distance ----------------------------------------------------------


def _deletion_table(targets: tuple[_Target, ...]) -> dict[str, list[_Target]]:
    """Index every entity skeleton by its strings with up to two characters deleted.

    Two strings within edit distance 2 always share such a deletion string (the
    symmetric-delete method), so candidates are found by lookups instead of
    computing a distance to every target.
    """
    table: dict[str, list[_Target]] = {}
    for target in targets:
        if _distance_limit(target.skeleton) == 0:
            continue
        for variant in _deletions(target.skeleton, 2):
            bucket = table.setdefault(variant, [])
            if target not in bucket:
                bucket.append(target)
    return table


def _deletions(text: str, depth: int) -> set[str]:
    found = {text}
    frontier = {text}
    for _ in range(depth):
        frontier = {word[:i] + word[i + 1:] for word in frontier for i in range(len(word))}
        found |= frontier
    return found


def _deletion_matches(text: str, table: dict[str, list[_Target]]) -> list[_Target]:
    if not table or len(text) > 64:
        return []
    matches: list[_Target] = []
    for variant in _deletions(text, 2):
        for target in table.get(variant, ()):
            if target not in matches:
                matches.append(target)
    return matches


def bounded_distance(first: str, second: str, limit: int) -> int:
    """Return the optimal-string-alignment distance, or ``limit + 1`` once it exceeds ``limit``.

    Counts insertions, deletions, substitutions and swaps of adjacent characters.
    Only cells within ``limit`` of the diagonal are computed, because any path
    outside that band already costs more than ``limit``.
    """
    if abs(len(first) - len(second)) > limit:
        return limit + 1
    over = limit + 1
    width = len(second)
    previous_previous: list[int] = []
    previous = [j if j <= limit else over for j in range(width + 1)]
    for i in range(1, len(first) + 1):
        current = [over] * (width + 1)
        current[0] = i if i <= limit else over
        first_char = first[i - 1]
        best = current[0]
        for j in range(max(1, i - limit), min(width, i + limit) + 1):
            second_char = second[j - 1]
            value = previous[j - 1] + (first_char != second_char)
            value = min(value, previous[j] + 1, current[j - 1] + 1)
            if i > 1 and j > 1 and first_char == second[j - 2] and first[i - 2] == second_char:
                value = min(value, previous_previous[j - 2] + 1)
            current[j] = min(value, over)
            best = min(best, current[j])
        if best > limit:
            return over
        previous_previous, previous = previous, current
    return previous[width]
