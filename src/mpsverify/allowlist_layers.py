"""Layering operator allowlist files over the shipped data.

Sources, from lowest to highest precedence::

    1. shipped          data/allowlist.yaml inside the package
    2. system config    /etc/mpsverify/allowlist.yaml
    3. user config      $XDG_CONFIG_HOME/mpsverify/allowlist.yaml (default ~/.config/...)
    4. environment      MPSVERIFY_ALLOWLIST (replaces), then each file in
                        MPSVERIFY_ALLOWLIST_EXTRA (extends; separated by os.pathsep)
    5. command line     --allowlist FILE (replaces), then each --allowlist-extra FILE (extends)

A replacing file discards every layer of lower precedence, and lower sources are
then not read at all: with ``--allowlist`` only that file and the ``--allowlist-extra``
files count. The two config files replace only when they contain ``mode: replace``.
An extending file adds to the list built so far; see ``merge_entity`` for how an
entity named in two layers is combined.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .allowlist import (
    Allowlist,
    AllowlistFile,
    AllowlistValidationError,
    Entity,
    Layer,
    Problem,
    read_allowlist_file,
    shipped_allowlist_path,
)
from .allowlist_schema import entity_key

logger = logging.getLogger(__name__)

SYSTEM_CONFIG_PATH: Final = Path("/etc/mpsverify/allowlist.yaml")
ENV_REPLACE: Final = "MPSVERIFY_ALLOWLIST"
ENV_EXTRA: Final = "MPSVERIFY_ALLOWLIST_EXTRA"
OPTION_REPLACE: Final = "--allowlist"
OPTION_EXTRA: Final = "--allowlist-extra"

#: Entity fields whose items a later layer adds to the earlier ones.
LIST_FIELDS: Final = ("domains", "link_hosts", "brand_names", "brand_hosts")


@dataclass(frozen=True)
class AllowlistSource:
    """A file that takes part in the effective allowlist, before it is read."""

    path: Path
    #: Source that named the file, as in :class:`mpsverify.allowlist.Layer`.
    role: str
    #: "replace" or "extend" when the role fixes the mode, or None to use the
    #: file's own ``mode`` field, which defaults to "extend".
    mode: str | None
    #: False for the config locations, where a missing file is skipped.
    required: bool = True


def allowlist_sources(
    replace: str | Path | None = None,
    extra: Sequence[str | Path] = (),
    environ: Mapping[str, str] | None = None,
    *,
    system_config: Path | None = SYSTEM_CONFIG_PATH,
    shipped: Path | None = None,
) -> tuple[AllowlistSource, ...]:
    """Return the files that make up the effective allowlist, lowest precedence first.

    ``replace`` and ``extra`` are the ``--allowlist`` and ``--allowlist-extra``
    option values; ``environ`` defaults to ``os.environ``. ``system_config=None``
    leaves out the system config file, and ``shipped`` overrides the shipped file
    (both for tests).
    """
    env = os.environ if environ is None else environ
    options = [AllowlistSource(Path(path), OPTION_EXTRA, "extend") for path in extra]
    if replace is not None:
        return (AllowlistSource(Path(replace), OPTION_REPLACE, "replace"), *options)
    env_extra = [AllowlistSource(Path(path), ENV_EXTRA, "extend")
                 for path in env.get(ENV_EXTRA, "").split(os.pathsep) if path]
    if env.get(ENV_REPLACE):
        return (AllowlistSource(Path(env[ENV_REPLACE]), ENV_REPLACE, "replace"), *env_extra, *options)
    base = [AllowlistSource(shipped or shipped_allowlist_path(), "shipped", "replace")]
    if system_config is not None:
        base.append(AllowlistSource(system_config, "system config", None, required=False))
    user_config = user_config_path(env)
    if user_config is not None:
        base.append(AllowlistSource(user_config, "user config", None, required=False))
    return (*base, *env_extra, *options)


def user_config_path(environ: Mapping[str, str]) -> Path | None:
    """Return the per-user allowlist path under the XDG config directory, or None without a home.

    A relative XDG_CONFIG_HOME is ignored, as the XDG Base Directory Specification requires.
    """
    config_home = environ.get("XDG_CONFIG_HOME", "")
    if config_home and Path(config_home).is_absolute():
        return Path(config_home) / "mpsverify" / "allowlist.yaml"
    home = environ.get("HOME", "")
    return Path(home) / ".config" / "mpsverify" / "allowlist.yaml" if home else None


@dataclass(frozen=True)
class LoadedLayer:
    """A source after reading: its file and the mode it is applied with."""

    source: AllowlistSource
    file: AllowlistFile
    mode: str


def read_layer(source: AllowlistSource) -> LoadedLayer | None:
    """Read and validate one source; return None for an optional file that does not exist.

    Raises AllowlistReadError or AllowlistValidationError. A ``mode`` field that
    contradicts the option or variable naming the file is a validation problem.
    """
    if not source.required and not source.path.exists():
        logger.debug("no allowlist at %s (%s)", source.path, source.role)
        return None
    # Only the shipped file must state its confidence. Operator entries default to "configured".
    default_confidence = "" if source.role == "shipped" else "configured"
    parsed = read_allowlist_file(source.path, default_confidence=default_confidence)
    if source.mode is not None and parsed.mode not in (None, source.mode):
        raise AllowlistValidationError([_mode_conflict(source, parsed.mode)])
    mode = source.mode or parsed.mode or "extend"
    logger.debug("read allowlist %s (%s, %s)", source.path, source.role, mode)
    return LoadedLayer(source, parsed, mode)


def _mode_conflict(source: AllowlistSource, file_mode: str) -> Problem:
    if source.mode == "replace":
        advice = f"use {OPTION_EXTRA} or {ENV_EXTRA} to extend, or remove the field"
    else:
        advice = f"use {OPTION_REPLACE} or {ENV_REPLACE} to replace, or remove the field"
    return Problem(str(source.path), f"is {file_mode}, but {source.role} files always {source.mode}; {advice}",
                   field="mode")


def merge_layers(layers: Sequence[LoadedLayer]) -> Allowlist:
    """Apply ``layers`` in order and return the effective allowlist.

    A replacing layer starts over; an extending layer adds to the list so far.
    Raises AllowlistValidationError when two layers disagree on an entity's kind or
    list one domain under two entities.
    """
    result = Allowlist(organisation="")
    applied: list[Layer] = []
    for layer in layers:
        if layer.mode == "replace":
            result, applied = Allowlist(organisation=""), []
        result = _extend(result, layer.file)
        applied.append(Layer(str(layer.source.path), layer.source.role, layer.mode))
    problems = duplicate_domain_problems(result)
    if problems:
        raise AllowlistValidationError(problems)
    return dataclasses.replace(result, layers=tuple(applied), origins=tuple(layer.path for layer in applied))


def _extend(base: Allowlist, layer: AllowlistFile) -> Allowlist:
    entities = list(base.entities)
    for entity, declared in zip(layer.entities, layer.declared):
        index = next((i for i, old in enumerate(entities) if entity_key(old.name) == entity_key(entity.name)), None)
        if index is None:
            entities.append(entity)
        else:
            entities[index] = merge_entity(entities[index], entity, declared)
    neutral = list(base.neutral_link_hosts)
    neutral_origins = list(base.neutral_origins)
    for host in layer.neutral_link_hosts:
        if host not in neutral:
            neutral.append(host)
            neutral_origins.append((host, layer.label))
    return Allowlist(
        organisation=layer.organisation if layer.organisation is not None else base.organisation,
        entities=tuple(entities),
        neutral_link_hosts=tuple(neutral),
        version=base.version,
        neutral_origins=tuple(neutral_origins),
    )


def merge_entity(earlier: Entity, later: Entity, declared: frozenset[str]) -> Entity:
    """Combine an entity with a later layer's entry of the same name.

    The later entry's domains, hosts and brand names are added after the earlier
    ones, skipping repeats. Its description, source, confidence, open_platform and
    notes replace the earlier values only where the later file sets them. The kind
    cannot change, because it decides between the authentic and partner verdicts.
    """
    if later.kind != earlier.kind:
        raise AllowlistValidationError([Problem(
            later.origin,
            f"is {later.kind}, but {earlier.origin} defines {earlier.name} as {earlier.kind}; "
            "a later file cannot change an entity's kind",
            later.line, f"entity {later.name}", "kind")])
    def chosen(key: str) -> object:
        return getattr(later if key in declared else earlier, key)

    added = [(key, value) for key in LIST_FIELDS for value in getattr(later, key)
             if value not in getattr(earlier, key)]
    listings = [*earlier.listings, *(item for item in later.listings if (item.field, item.value) in added)]
    return Entity(
        name=earlier.name,
        kind=earlier.kind,
        description=str(chosen("description")),
        domains=(*earlier.domains, *(value for key, value in added if key == "domains")),
        link_hosts=(*earlier.link_hosts, *(value for key, value in added if key == "link_hosts")),
        brand_names=(*earlier.brand_names, *(value for key, value in added if key == "brand_names")),
        source=str(chosen("source")),
        confidence=str(chosen("confidence")),
        open_platform=bool(chosen("open_platform")),
        brand_hosts=(*earlier.brand_hosts, *(value for key, value in added if key == "brand_hosts")),
        notes=str(chosen("notes")),
        origin=earlier.origin,
        line=earlier.line,
        extended_by=(*earlier.extended_by, later.origin),
        listings=tuple(listings),
    )


def duplicate_domain_problems(allowlist: Allowlist) -> list[Problem]:
    """Return a problem for each domain listed under two entities of the effective list."""
    owners: dict[str, Entity] = {}
    problems = []
    for entity in allowlist.entities:
        for domain in entity.domains:
            owner = owners.setdefault(domain, entity)
            if owner is entity:
                continue
            listing = entity.listing("domains", domain)
            problems.append(Problem(
                listing.origin if listing else entity.origin,
                f"{domain!r} is already listed by {owner.name} in {owner.origin}; a domain belongs to one entity",
                listing.line if listing else entity.line, f"entity {entity.name}", "domains"))
    return problems


def load_effective_allowlist(
    replace: str | Path | None = None,
    extra: Sequence[str | Path] = (),
    environ: Mapping[str, str] | None = None,
    *,
    system_config: Path | None = SYSTEM_CONFIG_PATH,
    shipped: Path | None = None,
) -> Allowlist:
    """Load every layer from :func:`allowlist_sources` and return the effective allowlist.

    Each entity records the file it came from (``origin``), the files that extended
    it (``extended_by``) and the line of each value (``listings``). Raises
    AllowlistReadError when a named file cannot be read, and AllowlistValidationError
    with every problem of the first invalid file, or the layering problems.
    """
    sources = allowlist_sources(replace, extra, environ, system_config=system_config, shipped=shipped)
    layers = [layer for layer in map(read_layer, sources) if layer is not None]
    return merge_layers(layers)
