"""Schema of allowlist files, checked with the line of every problem.

An allowlist file is YAML. It is composed into a node tree with PyYAML's safe loader,
so each value keeps its line, and then constructed with the same safe loader (no
Python tags are accepted). Validation collects every problem instead of stopping at
the first, because operators edit these files by hand and want one list to fix.

Schema version 1::

    version: 1                          # required
    mode: extend | replace              # optional, see docs/allowlist.md
    organisation: NAME                  # optional
    entities:
      - name: NAME                      # required, unique in the file
        kind: organisation | partner | portal
        description: TEXT
        domains: [DOMAIN, ...]          # subdomains included; no "*."
        link_hosts: [HOST, "*.HOST"]
        brand_names: [NAME, ...]
        source: TEXT
        confidence: seen | inferred | configured
        open_platform: true | false
        brand_hosts: [HOST, "*.HOST"]
        notes: TEXT
    neutral_link_hosts: [HOST, "*.HOST"]
"""

from __future__ import annotations

import functools
import ipaddress
import re
import reprlib
from dataclasses import dataclass
from typing import Any, Final

import publicsuffixlist
import yaml

from .psl import normalise_domain

SCHEMA_VERSIONS: Final = frozenset({1})
MODES: Final = ("extend", "replace")
ENTITY_KINDS: Final = ("organisation", "partner", "portal")
CONFIDENCE_LEVELS: Final = ("seen", "inferred", "configured")
TOP_LEVEL_FIELDS: Final = ("version", "mode", "organisation", "entities", "neutral_link_hosts")
ENTITY_FIELDS: Final = (
    "name", "kind", "description", "domains", "link_hosts", "brand_names",
    "source", "confidence", "open_platform", "brand_hosts", "notes",
)
TEXT_FIELDS: Final = ("description", "source", "notes")
HOST_FIELDS: Final = ("link_hosts", "brand_hosts")

_LABEL: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_MAX_DOMAIN_LENGTH: Final = 253

# Values shown in messages are cut short: a value built from nested YAML aliases
# can stand for billions of items.
_SHORT_REPR: Final = reprlib.Repr()
_SHORT_REPR.maxlevel, _SHORT_REPR.maxlist, _SHORT_REPR.maxdict = 2, 4, 4
_SHORT_REPR.maxstring, _SHORT_REPR.maxother = 60, 60

#: Position of a value in a document, as mapping keys and list indexes.
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One schema problem, located by file, line, entry and field."""

    file: str
    message: str
    #: 1-based line, or 0 when the position is not known.
    line: int = 0
    #: The entry, such as "entity 3 (Trinity McQueen)", or empty at the top level.
    entry: str = ""
    #: The field name, such as "domains", or empty when the problem is not in one field.
    field: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [where]
        if self.entry:
            parts.append(self.entry)
        if self.field:
            parts.append(f"field '{self.field}'")
        return ": ".join([*parts, self.message])


@dataclass(frozen=True)
class Document:
    """A parsed allowlist file: its data and the line of each value."""

    label: str
    data: Any
    lines: dict[Path, int]
    #: Problems for keys written twice in one mapping, because the YAML loader keeps only the last value.
    duplicate_keys: tuple[Problem, ...] = ()

    def line(self, *path: str | int) -> int:
        """Return the 1-based line of the value at ``path``, or of its nearest parent."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found:
                return found
        return 0


class DocumentError(ValueError):
    """The text is not a single YAML document; ``problem`` gives the file and line."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def compose_document(text: str, label: str) -> Document:
    """Parse YAML ``text`` safely into a Document that records line numbers.

    Raises DocumentError for text that is not exactly one YAML document, or that
    uses tags the safe loader does not construct. Duplicate keys are recorded in
    the Document, for validation to report.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 0
        detail = " ".join(part for part in (error.context, error.problem) if part)
        raise DocumentError(Problem(label, f"not valid YAML: {detail}", line)) from None
    except yaml.YAMLError as error:
        raise DocumentError(Problem(label, f"not valid YAML: {error}")) from None
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    duplicates: list[Problem] = []
    if node is not None:
        _index_lines(node, (), lines, duplicates, label, set())
    return Document(label, data, lines, tuple(duplicates))


def _index_lines(node: yaml.Node, path: Path, lines: dict[Path, int],
                 duplicates: list[Problem], label: str, seen: set[int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    # An alias points at a node already indexed. Descending again could take
    # exponential time on nested aliases, and adds no new lines.
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in keys:
                duplicates.append(Problem(label, f"key '{key}' appears twice in one mapping",
                                          key_node.start_mark.line + 1))
            keys.add(key)
            # A field's line is its key's line, where an operator looks for it.
            lines.setdefault((*path, key), key_node.start_mark.line + 1)
            _index_lines(value_node, (*path, key), lines, duplicates, label, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*path, index), lines, duplicates, label, seen)


def validate_document(document: Document) -> list[Problem]:
    """Return every schema problem in ``document``, in line order; empty when it is valid."""
    data = document.data
    if data is None:
        return [Problem(document.label, "the file is empty; an allowlist needs at least 'version: 1'")]
    if not isinstance(data, dict):
        return [Problem(document.label, "the file must be a mapping with at least a 'version' field",
                        document.line())]
    version_problem = _version_problem(document)
    if version_problem is not None:
        # Other fields are not checked, because another schema version may define them differently.
        return [version_problem]
    checker = _Checker(document)
    checker.check_top_level(data)
    entities = data.get("entities", [])
    if isinstance(entities, list):
        for index, entry in enumerate(entities):
            checker.check_entity(entry, index)
        checker.check_entities_together(entities)
    return sorted([*document.duplicate_keys, *checker.problems], key=lambda problem: problem.line)


def _version_problem(document: Document) -> Problem | None:
    data = document.data
    supported = ", ".join(str(v) for v in sorted(SCHEMA_VERSIONS))
    if "version" not in data:
        return Problem(document.label, f"is missing; add 'version: {supported}' at the top",
                       document.line(), field="version")
    version = data["version"]
    if isinstance(version, bool) or version not in SCHEMA_VERSIONS:
        message = f"{_shown(version)} is not a supported schema version; this mpsverify reads version {supported}"
        return Problem(document.label, message, document.line("version"), field="version")
    return None


class _Checker:
    """Collects problems for one document, each located by line, entry and field."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.problems: list[Problem] = []

    def add(self, message: str, path: Path, entry: str = "", field: str = "") -> None:
        self.problems.append(Problem(self.document.label, message, self.document.line(*path), entry, field))

    def check_top_level(self, data: dict[Any, Any]) -> None:
        for key in data:
            if key not in TOP_LEVEL_FIELDS:
                self.add(f"unknown field '{key}' at the top level; known fields are "
                         f"{', '.join(TOP_LEVEL_FIELDS)}", (str(key),), field=str(key))
        if "mode" in data and data["mode"] not in MODES:
            self.add(f"must be one of {', '.join(MODES)}, not {_shown(data['mode'])}", ("mode",), field="mode")
        if "organisation" in data:
            self.check_text(data["organisation"], ("organisation",), "", "organisation")
        if "entities" in data and not isinstance(data["entities"], list):
            self.add("must be a list of entities (write [] for none)", ("entities",), field="entities")
        if "neutral_link_hosts" in data:
            self.check_names(data["neutral_link_hosts"], ("neutral_link_hosts",), "", "neutral_link_hosts",
                             wildcard=True)

    def check_entity(self, entry: Any, index: int) -> None:
        path: Path = ("entities", index)
        if not isinstance(entry, dict):
            self.add("must be a mapping with name and kind", path, entry=f"entity {index + 1}")
            return
        name = entry.get("name")
        where = f"entity {index + 1} ({name})" if isinstance(name, str) and name.strip() else f"entity {index + 1}"
        for key in entry:
            if key not in ENTITY_FIELDS:
                self.add(f"unknown field; known fields are {', '.join(ENTITY_FIELDS)}",
                         (*path, str(key)), where, str(key))
        self.check_required_fields(entry, path, where)
        for key in TEXT_FIELDS:
            if key in entry:
                self.check_text(entry[key], (*path, key), where, key)
        if "confidence" in entry and entry["confidence"] not in CONFIDENCE_LEVELS:
            self.add(f"must be one of {', '.join(CONFIDENCE_LEVELS)}, not {_shown(entry['confidence'])}",
                     (*path, "confidence"), where, "confidence")
        if "open_platform" in entry and not isinstance(entry["open_platform"], bool):
            self.add(f"must be true or false, not {_shown(entry['open_platform'])}",
                     (*path, "open_platform"), where, "open_platform")
        if "domains" in entry:
            self.check_names(entry["domains"], (*path, "domains"), where, "domains", wildcard=False)
        for key in HOST_FIELDS:
            if key in entry:
                self.check_names(entry[key], (*path, key), where, key, wildcard=True)
        if "brand_names" in entry:
            self.check_brand_names(entry["brand_names"], (*path, "brand_names"), where)

    def check_required_fields(self, entry: dict[Any, Any], path: Path, where: str) -> None:
        if "name" not in entry:
            self.add("is missing", path, where, "name")
        elif not isinstance(entry["name"], str) or not entry["name"].strip():
            self.add(f"must be a non-empty string, not {_shown(entry['name'])}", (*path, "name"), where, "name")
        if "kind" not in entry:
            self.add(f"is missing; use one of {', '.join(ENTITY_KINDS)}", path, where, "kind")
        elif entry["kind"] not in ENTITY_KINDS:
            self.add(f"must be one of {', '.join(ENTITY_KINDS)}, not {_shown(entry['kind'])}",
                     (*path, "kind"), where, "kind")

    def check_text(self, value: Any, path: Path, where: str, field: str) -> None:
        if not isinstance(value, str):
            self.add(f"must be a string, not {_shown(value)}", path, where, field)

    def check_names(self, value: Any, path: Path, where: str, field: str, *, wildcard: bool) -> None:
        if not self.check_list(value, path, where, field):
            return
        seen: set[str] = set()
        for index, item in enumerate(value):
            item_path = (*path, index)
            if not isinstance(item, str):
                self.add(f"item {index + 1} must be a string, not {_shown(item)}", item_path, where, field)
                continue
            problem = host_problem(item, wildcard=wildcard)
            if problem is not None:
                self.add(f"{_shown(item)} {problem}", item_path, where, field)
            elif normalise_domain(item) in seen:
                self.add(f"{_shown(item)} is listed twice", item_path, where, field)
            seen.add(normalise_domain(item))

    def check_brand_names(self, value: Any, path: Path, where: str) -> None:
        if not self.check_list(value, path, where, "brand_names"):
            return
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.add(f"item {index + 1} must be a non-empty string, not {_shown(item)}",
                         (*path, index), where, "brand_names")

    def check_list(self, value: Any, path: Path, where: str, field: str) -> bool:
        if isinstance(value, list):
            return True
        self.add(f"must be a list (write [] for none), not {_shown(value)}", path, where, field)
        return False

    def check_entities_together(self, entities: list[Any]) -> None:
        """Report entity names and domains that appear in more than one entity."""
        names: dict[str, int] = {}
        owners: dict[str, str] = {}
        for index, entry in enumerate(entities):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            path: Path = ("entities", index)
            where = f"entity {index + 1} ({entry['name']})"
            key = entity_key(entry["name"])
            if key in names:
                self.add(f"the name is already used by entity {names[key] + 1}", (*path, "name"), where, "name")
            names.setdefault(key, index)
            domains = entry.get("domains")
            for item_index, domain in enumerate(domains if isinstance(domains, list) else []):
                if not isinstance(domain, str) or host_problem(domain, wildcard=False):
                    continue
                normal = normalise_domain(domain)
                owner = owners.setdefault(normal, entry["name"])
                if owner != entry["name"]:
                    self.add(f"{_shown(domain)} is already listed by {owner}; a domain belongs to one entity",
                             (*path, "domains", item_index), where, "domains")


def _shown(value: Any) -> str:
    return _SHORT_REPR.repr(value)


def entity_key(name: str) -> str:
    """Return the key that identifies an entity by name, ignoring case and spacing."""
    return " ".join(name.split()).casefold()


def host_problem(value: str, *, wildcard: bool) -> str | None:
    """Return why ``value`` is not a usable domain or host pattern, or None when it is.

    With ``wildcard``, a leading "*." (every subdomain) is allowed. A public suffix
    such as "co.uk" is rejected, alone or after "*.", because it would cover every
    domain registered under it.
    """
    if value != value.strip() or any(character.isspace() for character in value):
        return "contains whitespace"
    if "://" in value:
        return "is a URL; give only its host name"
    if "@" in value:
        return "is an email address; give only the domain after '@'"
    if "/" in value or ":" in value:
        return "contains '/' or ':'; give only the host name, without path or port"
    name = value
    if value.startswith("*."):
        if not wildcard:
            return "starts with '*.', but domains already include every subdomain; remove '*.'"
        name = value[2:]
    if "*" in name:
        return "may contain '*' only as the whole first label, as in '*.example.com'"
    return _domain_name_problem(name)


def _domain_name_problem(name: str) -> str | None:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return "is an IP address; give a host name"
    normal = normalise_domain(name)
    if not normal.isascii():
        return "is not a valid internationalised domain name"
    labels = normal.split(".")
    if len(normal) > _MAX_DOMAIN_LENGTH or not all(_LABEL.fullmatch(label) for label in labels):
        return "is not a valid domain name"
    if _public_suffixes().is_public(normal):
        return "is a public suffix, so it would cover every domain registered under it"
    if len(labels) < 2:
        return "needs at least two labels, as in 'example.com'"
    return None


@functools.cache
def _public_suffixes() -> publicsuffixlist.PublicSuffixList:
    # The list shipped with publicsuffixlist, including its private section, so
    # shared hosting suffixes such as github.io count as public too. Unknown
    # top-level domains, such as the reserved .example, are not treated as public,
    # so that "localhost" gets the clearer "two labels" message.
    return publicsuffixlist.PublicSuffixList(accept_unknown=False)
