"""Fast allowlist lookups for the many hosts of one message.

Most link hosts belong to no entity. A host can only match an allowlist entry
when one of its label suffixes (the host itself, its parent, and so on) is a
listed domain, a listed host, or the base of a "*." pattern, so a set lookup per
suffix rules most hosts out. Hosts that pass are handed to the allowlist itself,
which stays the one authority on matching rules.
"""

from __future__ import annotations

from ..allowlist import Allowlist, Entity
from .cache import per_allowlist


@per_allowlist
def _entity_keys(allowlist: Allowlist) -> frozenset[str]:
    keys: set[str] = set()
    for entity in allowlist.entities:
        keys.update(entity.domains)
        keys.update(_pattern_base(pattern) for pattern in (*entity.link_hosts, *entity.brand_hosts))
    return frozenset(keys)


@per_allowlist
def _neutral_keys(allowlist: Allowlist) -> frozenset[str]:
    return frozenset(_pattern_base(pattern) for pattern in allowlist.neutral_link_hosts)


def _pattern_base(pattern: str) -> str:
    pattern = pattern.lower().rstrip(".")
    return pattern[2:] if pattern.startswith("*.") else pattern


def _has_listed_suffix(host: str, keys: frozenset[str]) -> bool:
    position = 0
    while True:
        if host[position:] in keys:
            return True
        position = host.find(".", position) + 1
        if position == 0:
            return False


def entity_for_host(host: str, allowlist: Allowlist) -> Entity | None:
    """Return :meth:`Allowlist.entity_for_link_host` for a normalised ``host``, quickly when it is None."""
    if not host or not _has_listed_suffix(host, _entity_keys(allowlist)):
        return None
    return allowlist.entity_for_link_host(host)


def is_neutral_host(host: str, allowlist: Allowlist) -> bool:
    """Return :meth:`Allowlist.is_neutral_host` for a normalised ``host``, quickly when it is False."""
    return bool(host) and _has_listed_suffix(host, _neutral_keys(allowlist)) and allowlist.is_neutral_host(host)
