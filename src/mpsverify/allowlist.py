"""The allowlist: which domains and hosts belong to MPS, its partners and its portal.

The file is YAML, loaded with ``yaml.safe_load`` and checked against a versioned
schema. Every problem is reported with the file, the entry and the field, because
operators edit these files by hand.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from .errors import AllowlistError
from .psl import is_same_or_subdomain, normalise_domain

logger = logging.getLogger(__name__)

SCHEMA_VERSIONS: Final = frozenset({1})
ENTITY_KINDS: Final = ("organisation", "partner", "portal")
CONFIDENCE_LEVELS: Final = ("seen", "inferred", "configured")
TOP_LEVEL_FIELDS: Final = frozenset({"version", "organisation", "entities", "neutral_link_hosts"})
ENTITY_FIELDS: Final = frozenset({
    "name", "kind", "description", "domains", "link_hosts", "brand_names",
    "source", "confidence", "open_platform", "brand_hosts", "notes",
})


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
    #: File the entry was loaded from; empty for entries built in code.
    origin: str = ""

    def owns_domain(self, domain: str) -> bool:
        """Return True when ``domain`` is one of this entity's domains or beneath one."""
        name = normalise_domain(domain)
        return any(is_same_or_subdomain(name, own) for own in self.domains)

    def owns_link_host(self, host: str) -> bool:
        """Return True when a link to ``host`` goes to this entity."""
        name = normalise_domain(host)
        return self.owns_domain(name) or any(host_matches(name, pattern)
                                             for pattern in (*self.link_hosts, *self.brand_hosts))


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

    def entity_for_domain(self, domain: str) -> Entity | None:
        """Return the entity whose domains include ``domain``, or None."""
        for entity in self.entities:
            if entity.owns_domain(domain):
                return entity
        return None

    def entity_for_link_host(self, host: str) -> Entity | None:
        """Return the entity a link to ``host`` goes to, or None."""
        for entity in self.entities:
            if entity.owns_link_host(host):
                return entity
        return None

    def is_neutral_host(self, host: str) -> bool:
        """Return True when ``host`` is listed as fine to link to for anyone."""
        name = normalise_domain(host)
        return any(host_matches(name, pattern) for pattern in self.neutral_link_hosts)

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


def load_allowlist(path: str | Path) -> Allowlist:
    """Load and validate one allowlist file.

    Raises AllowlistError naming the file, entry and field for any schema problem,
    and for a file that cannot be read or is not YAML.
    """
    label = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise AllowlistError(f"{label}: cannot read the allowlist: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise AllowlistError(f"{label}: the allowlist is not UTF-8 text") from None
    return parse_allowlist(text, label)


def parse_allowlist(text: str, label: str = "<allowlist>") -> Allowlist:
    """Parse allowlist YAML text; ``label`` names the source in error messages."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise AllowlistError(f"{label}: not valid YAML: {error}") from None
    problems = validate_document(data)
    if problems:
        raise AllowlistError("\n".join(f"{label}: {problem}" for problem in problems))
    assert isinstance(data, dict)
    return _build(data, label)


def validate_document(data: Any) -> list[str]:
    """Return every schema problem in a loaded allowlist document; empty when valid."""
    if not isinstance(data, dict):
        return ["the file must be a mapping with version, organisation and entities"]
    problems = [f"unknown field {key!r} at the top level" for key in data if key not in TOP_LEVEL_FIELDS]
    version = data.get("version")
    if version not in SCHEMA_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(SCHEMA_VERSIONS))
        problems.append(f"field 'version': {version!r} is not a supported schema version ({supported})")
    if "organisation" in data and not isinstance(data["organisation"], str):
        problems.append("field 'organisation' must be a string")
    problems += _string_list_problems(data.get("neutral_link_hosts", []), "field 'neutral_link_hosts'")
    entities = data.get("entities", [])
    if not isinstance(entities, list):
        return problems + ["field 'entities' must be a list"]
    for index, entry in enumerate(entities, start=1):
        problems += _entity_problems(entry, index)
    return problems


def _entity_problems(entry: Any, index: int) -> list[str]:
    if not isinstance(entry, dict):
        return [f"entity {index}: must be a mapping"]
    where = f"entity {index} ({entry.get('name', 'unnamed')!s})"
    problems = [f"{where}: unknown field {key!r}" for key in entry if key not in ENTITY_FIELDS]
    if not isinstance(entry.get("name"), str) or not entry.get("name"):
        problems.append(f"{where}: field 'name' is missing or not a string")
    if entry.get("kind") not in ENTITY_KINDS:
        problems.append(f"{where}: field 'kind' must be one of {', '.join(ENTITY_KINDS)}, "
                        f"not {entry.get('kind')!r}")
    for key in ("description", "source", "notes"):
        if key in entry and not isinstance(entry[key], str):
            problems.append(f"{where}: field {key!r} must be a string")
    if "confidence" in entry and entry["confidence"] not in CONFIDENCE_LEVELS:
        problems.append(f"{where}: field 'confidence' must be one of {', '.join(CONFIDENCE_LEVELS)}, "
                        f"not {entry['confidence']!r}")
    if "open_platform" in entry and not isinstance(entry["open_platform"], bool):
        problems.append(f"{where}: field 'open_platform' must be true or false")
    for key in ("domains", "link_hosts", "brand_names", "brand_hosts"):
        problems += _string_list_problems(entry.get(key, []), f"{where}: field {key!r}")
    for key in ("domains",):
        for value in entry.get(key, []) or []:
            if isinstance(value, str) and not _looks_like_domain(value):
                problems.append(f"{where}: field {key!r}: {value!r} is not a domain name")
    return problems


def _string_list_problems(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        return [f"{where} must be a list"]
    return [f"{where}: item {i} must be a string" for i, item in enumerate(value, 1) if not isinstance(item, str)]


def _looks_like_domain(value: str) -> bool:
    name = normalise_domain(value)
    labels = name.split(".")
    return len(labels) >= 2 and all(0 < len(label) < 64 for label in labels) and " " not in name


def _build(data: dict[str, Any], label: str) -> Allowlist:
    entities = tuple(_build_entity(entry, label) for entry in data.get("entities", []))
    neutral = tuple(normalise_domain(h) for h in data.get("neutral_link_hosts", []))
    return Allowlist(
        organisation=data.get("organisation", ""),
        entities=entities,
        neutral_link_hosts=neutral,
        version=int(data["version"]),
        origins=(label,),
        neutral_origins=tuple((host, label) for host in neutral),
    )


def _build_entity(entry: dict[str, Any], label: str) -> Entity:
    def names(key: str) -> tuple[str, ...]:
        return tuple(normalise_domain(v) for v in entry.get(key, []) or [])

    return Entity(
        name=entry["name"],
        kind=entry["kind"],
        description=entry.get("description", ""),
        domains=names("domains"),
        link_hosts=names("link_hosts"),
        brand_names=tuple(entry.get("brand_names", []) or []),
        source=entry.get("source", ""),
        confidence=entry.get("confidence", ""),
        open_platform=bool(entry.get("open_platform", False)),
        brand_hosts=names("brand_hosts"),
        notes=entry.get("notes", ""),
        origin=label,
    )


def shipped_allowlist_path() -> Path:
    """Return the path of the allowlist shipped with the package."""
    return Path(str(importlib.resources.files("mpsverify.data").joinpath("allowlist.yaml")))


@functools.cache
def default_allowlist() -> Allowlist:
    """Load the shipped allowlist once per process."""
    return load_allowlist(shipped_allowlist_path())
