"""The allowlist: which domains and hosts belong to MPS, its partners and its portal.

An entity's ``domains`` are author and link domains and include their subdomains.
Its ``link_hosts`` and ``brand_hosts`` are extra hosts that links may point to; a
pattern "*.example.com" covers every subdomain of example.com but not example.com.

Files are YAML, loaded safely and checked against the versioned schema in
:mod:`mpsverify.allowlist_schema`. Every problem names the file, line, entry and
field, because operators edit these files by hand. Layering operator files over
the shipped data is done by :func:`mpsverify.allowlist_layers.load_effective_allowlist`.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .allowlist_schema import (
    CONFIDENCE_LEVELS,
    ENTITY_KINDS,
    SCHEMA_VERSIONS,
    Document,
    DocumentError,
    Problem,
    compose_document,
    entity_key,
    validate_document,
)
from .errors import AllowlistError
from .psl import is_same_or_subdomain, normalise_domain

logger = logging.getLogger(__name__)

__all__ = [
    "CONFIDENCE_LEVELS", "ENTITY_KINDS", "SCHEMA_VERSIONS", "Allowlist", "AllowlistFile",
    "AllowlistReadError", "AllowlistValidationError", "Entity", "Listing", "Problem",
    "check_allowlist_file", "default_allowlist", "host_matches", "load_allowlist",
    "parse_allowlist", "read_allowlist_file", "shipped_allowlist_path",
]

#: Fields of an entity that hold lists of domains or host patterns.
HOST_LIST_FIELDS: Final = ("domains", "link_hosts", "brand_hosts")


class AllowlistValidationError(AllowlistError):
    """An allowlist file breaks the schema; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = tuple(problems)


class AllowlistReadError(AllowlistError):
    """An allowlist file cannot be read because it is missing, not permitted or not UTF-8."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: cannot read the allowlist: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Listing:
    """Location of one domain, host or brand name of an entity in an allowlist file."""

    field: str
    value: str
    #: The file the value came from.
    origin: str
    #: 1-based line in ``origin``, or 0 when not known.
    line: int = 0


@dataclass(frozen=True)
class Entity:
    """One organisation, partner or portal that may send mail for MPS."""

    name: str
    kind: str
    description: str = ""
    #: Author and link domains; their subdomains are included.
    domains: tuple[str, ...] = ()
    #: Extra hosts links may point to; "*.host" covers every subdomain of host.
    link_hosts: tuple[str, ...] = ()
    #: Names a display name must not use unless the author domain is this entity's.
    brand_names: tuple[str, ...] = ()
    #: Where the facts behind this entry come from.
    source: str = ""
    #: "seen", "inferred" or "configured" (added by an operator).
    confidence: str = ""
    #: Anyone can send through this platform, so its mail proves only the platform.
    open_platform: bool = False
    #: Hosts on an open platform that belong to the organisation itself.
    brand_hosts: tuple[str, ...] = ()
    notes: str = ""
    #: File the entry was first defined in; empty for entries built in code.
    origin: str = ""
    #: 1-based line of the entry in ``origin``, or 0 when not known.
    line: int = field(default=0, compare=False)
    #: Later files that added to or changed this entry, in the order applied.
    extended_by: tuple[str, ...] = field(default=(), compare=False)
    #: File and line of each domain, host and brand name.
    listings: tuple[Listing, ...] = field(default=(), compare=False)

    def matching_domain(self, domain: str) -> str | None:
        """Return the most specific listed domain that ``domain`` equals or lies beneath."""
        name = normalise_domain(domain)
        matches = [own for own in self.domains if is_same_or_subdomain(name, own)]
        return max(matches, key=len, default=None)

    def matching_link_host(self, host: str) -> tuple[str, str] | None:
        """Return the field and pattern of ``link_hosts`` or ``brand_hosts`` matching ``host``."""
        name = normalise_domain(host)
        for field_name in ("brand_hosts", "link_hosts"):
            for pattern in getattr(self, field_name):
                if host_matches(name, pattern):
                    return field_name, pattern
        return None

    def owns_domain(self, domain: str) -> bool:
        """Return True when ``domain`` is one of this entity's domains or beneath one."""
        return self.matching_domain(domain) is not None

    def owns_link_host(self, host: str) -> bool:
        """Return True when a link to ``host`` goes to this entity."""
        return self.owns_domain(host) or self.matching_link_host(host) is not None

    def owns_brand_host(self, host: str) -> bool:
        """Return True when ``host`` matches one of the organisation's hosts on this open platform."""
        name = normalise_domain(host)
        return any(host_matches(name, pattern) for pattern in self.brand_hosts)

    def listing(self, field_name: str, value: str) -> Listing | None:
        """Return where ``value`` was listed under ``field_name``, or None when not recorded."""
        return next((item for item in self.listings if item.field == field_name and item.value == value), None)


@dataclass(frozen=True)
class Layer:
    """One file applied to the effective allowlist."""

    path: str
    #: Source that named the file: "shipped", "system config", "user config",
    #: "MPSVERIFY_ALLOWLIST", "MPSVERIFY_ALLOWLIST_EXTRA", "--allowlist" or "--allowlist-extra".
    role: str
    #: "replace" (the file starts a new list) or "extend" (it adds to the list so far).
    mode: str


@dataclass(frozen=True)
class Allowlist:
    """The effective allowlist after loading and layering."""

    organisation: str
    entities: tuple[Entity, ...] = ()
    neutral_link_hosts: tuple[str, ...] = ()
    version: int = 1
    #: Files that made up this list, in the order they were applied.
    origins: tuple[str, ...] = ()
    #: For each neutral host, the file it came from.
    neutral_origins: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    #: The layers applied, in order; empty for a list loaded from one file.
    layers: tuple[Layer, ...] = field(default=(), compare=False)

    def entity_for_domain(self, domain: str) -> Entity | None:
        """Return the entity whose domains include ``domain``, or None.

        When domains of two entities cover ``domain`` (say example.com and
        survey.example.com), the entity with the longer, more specific domain wins.
        """
        labels = normalise_domain(domain).split(".")
        index = self._domain_index
        for start in range(len(labels)):
            entity = index.get(".".join(labels[start:]))
            if entity is not None:
                return entity
        return None

    @functools.cached_property
    def _domain_index(self) -> dict[str, Entity]:
        """Map each listed domain to its entity; the schema forbids one domain under two entities."""
        index: dict[str, Entity] = {}
        for entity in self.entities:
            for own in entity.domains:
                index.setdefault(own, entity)
        return index

    def entity_for_link_host(self, host: str) -> Entity | None:
        """Return the entity a link to ``host`` goes to, or None.

        Domains are tried first, then link and brand hosts in file order.
        """
        owner = self.entity_for_domain(host)
        if owner is not None:
            return owner
        return next((entity for entity in self.entities if entity.matching_link_host(host)), None)

    def entity_by_name(self, name: str) -> Entity | None:
        """Return the entity called ``name``, ignoring case and spacing, or None."""
        key = entity_key(name)
        return next((entity for entity in self.entities if entity_key(entity.name) == key), None)

    def is_neutral_host(self, host: str) -> bool:
        """Return True when ``host`` is listed as fine to link to for anyone."""
        return self.matching_neutral_host(host) is not None

    def matching_neutral_host(self, host: str) -> str | None:
        """Return the neutral host pattern that ``host`` matches, or None."""
        name = normalise_domain(host)
        return next((pattern for pattern in self.neutral_link_hosts if host_matches(name, pattern)), None)

    def organisation_entity(self) -> Entity | None:
        """Return the first entity of kind organisation, or None."""
        return next((e for e in self.entities if e.kind == "organisation"), None)

    def all_domains(self) -> tuple[tuple[str, Entity], ...]:
        """Return every (domain, entity) pair, for lookalike checks."""
        return tuple((domain, entity) for entity in self.entities for domain in entity.domains)


def host_matches(host: str, pattern: str) -> bool:
    """Match ``host`` against ``pattern``; "*.example.com" matches any subdomain of it."""
    pattern = pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


@dataclass(frozen=True)
class AllowlistFile:
    """One schema-valid allowlist file, before layering."""

    label: str
    #: The file's ``mode`` field, or None when it has none.
    mode: str | None
    #: The file's ``organisation`` field, or None when it has none.
    organisation: str | None
    entities: tuple[Entity, ...]
    #: For each entity, the fields the file sets, so layering changes only those.
    declared: tuple[frozenset[str], ...]
    neutral_link_hosts: tuple[str, ...]

    def as_allowlist(self) -> Allowlist:
        """Return this file alone as an allowlist."""
        return Allowlist(
            organisation=self.organisation or "",
            entities=self.entities,
            neutral_link_hosts=self.neutral_link_hosts,
            origins=(self.label,),
            neutral_origins=tuple((host, self.label) for host in self.neutral_link_hosts),
        )


def read_allowlist_file(path: str | Path, *, default_confidence: str = "configured") -> AllowlistFile:
    """Read and validate one allowlist file.

    Entities without a ``confidence`` field get ``default_confidence``. Raises
    AllowlistReadError when the file cannot be read, and AllowlistValidationError
    listing every schema problem otherwise.
    """
    label = str(path)
    return parse_allowlist_file(_read_text(path), label, default_confidence=default_confidence)


def parse_allowlist_file(text: str, label: str, *, default_confidence: str = "configured") -> AllowlistFile:
    """Parse and validate allowlist YAML ``text``; ``label`` names it in problems."""
    try:
        document = compose_document(text, label)
    except DocumentError as error:
        raise AllowlistValidationError([error.problem]) from None
    problems = validate_document(document)
    if problems:
        raise AllowlistValidationError(problems)
    return _build_file(document, default_confidence)


def check_allowlist_file(path: str | Path) -> list[Problem]:
    """Return every schema problem in the file at ``path``; empty when it is valid.

    Raises AllowlistReadError when the file cannot be read.
    """
    try:
        read_allowlist_file(path)
    except AllowlistValidationError as error:
        return list(error.problems)
    return []


def load_allowlist(path: str | Path, *, default_confidence: str = "configured") -> Allowlist:
    """Load one allowlist file as the whole list, ignoring its ``mode`` field.

    Raises AllowlistReadError or AllowlistValidationError (both AllowlistError).
    """
    return read_allowlist_file(path, default_confidence=default_confidence).as_allowlist()


def parse_allowlist(text: str, label: str = "<allowlist>") -> Allowlist:
    """Parse allowlist YAML text as the whole list; ``label`` names the source in errors."""
    return parse_allowlist_file(text, label).as_allowlist()


def _read_text(path: str | Path) -> str:
    label = str(path)
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise AllowlistReadError(label, error.strerror or str(error)) from None
    except UnicodeDecodeError:
        raise AllowlistReadError(label, "the file is not UTF-8 text") from None


def _build_file(document: Document, default_confidence: str) -> AllowlistFile:
    data: dict[str, Any] = document.data
    entries = data.get("entities", [])
    entities = tuple(_build_entity(document, index, entry, default_confidence)
                     for index, entry in enumerate(entries))
    return AllowlistFile(
        label=document.label,
        mode=data.get("mode"),
        organisation=data.get("organisation"),
        entities=entities,
        declared=tuple(frozenset(entry) for entry in entries),
        neutral_link_hosts=tuple(normalise_domain(host) for host in data.get("neutral_link_hosts", [])),
    )


def _build_entity(document: Document, index: int, entry: dict[str, Any], default_confidence: str) -> Entity:
    path = ("entities", index)
    listings: list[Listing] = []

    def values(key: str, normalise: bool) -> tuple[str, ...]:
        found = []
        for item_index, raw in enumerate(entry.get(key, [])):
            value = normalise_domain(raw) if normalise else raw.strip()
            found.append(value)
            listings.append(Listing(key, value, document.label, document.line(*path, key, item_index)))
        return tuple(found)

    return Entity(
        name=" ".join(entry["name"].split()),
        kind=entry["kind"],
        description=entry.get("description", ""),
        domains=values("domains", normalise=True),
        link_hosts=values("link_hosts", normalise=True),
        brand_names=values("brand_names", normalise=False),
        source=entry.get("source", ""),
        confidence=entry.get("confidence", default_confidence),
        open_platform=entry.get("open_platform", False),
        brand_hosts=values("brand_hosts", normalise=True),
        notes=entry.get("notes", ""),
        origin=document.label,
        line=document.line(*path),
        listings=tuple(listings),
    )


def shipped_allowlist_path() -> Path:
    """Return the path of the allowlist shipped with the package."""
    return Path(str(importlib.resources.files("mpsverify.data").joinpath("allowlist.yaml")))


@functools.cache
def default_allowlist() -> Allowlist:
    """Load the shipped allowlist once per process, without any operator layers."""
    return load_allowlist(shipped_allowlist_path(), default_confidence="")
