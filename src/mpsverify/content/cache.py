"""Per-allowlist caches for data derived from an allowlist object."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import TypeVar

from ..allowlist import Allowlist

T = TypeVar("T")


def per_allowlist(build: Callable[[Allowlist], T]) -> Callable[[Allowlist], T]:
    """Cache ``build(allowlist)`` for as long as that allowlist object is alive.

    Entries are keyed by object identity, because hashing a whole allowlist on
    every call would cost more than most lookups it speeds up. A weak reference
    drops the entry when the allowlist is garbage-collected.
    """
    entries: dict[int, tuple[weakref.ref[Allowlist], T]] = {}

    @functools.wraps(build)
    def cached(allowlist: Allowlist) -> T:
        key = id(allowlist)
        entry = entries.get(key)
        if entry is not None and entry[0]() is allowlist:
            return entry[1]
        value = build(allowlist)
        entries[key] = (weakref.ref(allowlist, lambda _ref: entries.pop(key, None)), value)
        return value

    return cached
