"""Registrable domains from a current Public Suffix List.

publicsuffix2 does the matching, but the list it bundles dates from 2019. The
list file shipped by the ``publicsuffixlist`` package is refreshed with each of
its releases, so it is loaded in its place.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import publicsuffix2

logger = logging.getLogger(__name__)


def _current_list_path() -> Path | None:
    try:
        import publicsuffixlist
    except ImportError:
        return None
    path = Path(os.path.dirname(publicsuffixlist.__file__)) / "public_suffix_list.dat"
    return path if path.exists() else None


@functools.cache
def _suffix_list() -> publicsuffix2.PublicSuffixList:
    path = _current_list_path()
    if path is None:
        # NOTE: falls back to publicsuffix2's bundled 2019 list, which misses newer suffixes.
        logger.warning("current Public Suffix List not found; using the 2019 list bundled with publicsuffix2")
        return publicsuffix2.PublicSuffixList()
    with path.open(encoding="utf-8") as handle:
        return publicsuffix2.PublicSuffixList(handle)


def normalise_domain(domain: str) -> str:
    """Return ``domain`` in lower case without a trailing dot, as A-labels where possible."""
    name = domain.strip().rstrip(".").lower()
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name


@functools.lru_cache(maxsize=65536)
def registrable_domain(domain: str) -> str:
    """Return the registrable domain (public suffix plus one label) of ``domain``.

    A name under a top-level domain the list does not know, such as ``.example``,
    follows the list's default rule "*": its last label is the public suffix.
    """
    name = normalise_domain(domain)
    if not name or "." not in name:
        return name
    found = _suffix_list().get_sld(name) or name
    if "." not in found:
        # publicsuffix2 returns the bare label for unlisted top-level domains.
        found = ".".join(name.split(".")[-2:])
    return str(found)


def is_same_or_subdomain(domain: str, parent: str) -> bool:
    """Return True when ``domain`` equals ``parent`` or lies beneath it."""
    return domain == parent or domain.endswith("." + parent)
