"""The ``mpsverify allowlist`` command: check, show and explain the allowlist.

Exit statuses: 0 success; 1 ``explain`` found no entity and no neutral host;
64 usage error; 65 an allowlist breaks the schema; 66 a file cannot be read.
Errors are one line each on standard error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from .allowlist import (
    Allowlist,
    AllowlistReadError,
    AllowlistValidationError,
    Entity,
    Problem,
)
from . import allowlist_layers
from .allowlist_explain import TargetError, explain_target
from .allowlist_layers import (
    ENV_EXTRA,
    ENV_REPLACE,
    AllowlistSource,
    LoadedLayer,
    allowlist_sources,
    load_effective_allowlist,
    merge_layers,
    read_layer,
)
from .errors import AllowlistError

EX_OK: Final = 0
EX_NOT_FOUND: Final = 1
EX_USAGE: Final = 64
EX_DATAERR: Final = 65
EX_NOINPUT: Final = 66

Handler = Callable[[argparse.Namespace], int]


def add_allowlist_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--allowlist`` and ``--allowlist-extra``, which choose the allowlist files."""
    parser.add_argument(
        "--allowlist", metavar="FILE",
        help=f"use FILE as the whole allowlist; the shipped data, config files, {ENV_REPLACE} "
             f"and {ENV_EXTRA} are not read")
    parser.add_argument(
        "--allowlist-extra", metavar="FILE", action="append", default=[],
        help="add the entries of FILE over the allowlist (repeatable; applied last, in order)")


def add_allowlist_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add the ``allowlist`` command and its subcommands to ``subparsers``.

    The parsed namespace's ``handler`` runs the chosen subcommand and returns the
    exit status.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "allowlist", help="check, show or explain the allowlist",
        description="Check, show or explain the allowlist of MPS, its partners and its portal.")
    parser.set_defaults(handler=run_allowlist)
    commands = parser.add_subparsers(dest="allowlist_command", metavar="COMMAND", required=True)
    _add_check_parser(commands)
    _add_show_parser(commands)
    _add_explain_parser(commands)
    return parser


def _add_check_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check", help="validate allowlist files",
        description="Validate FILE, or every file of the effective allowlist when FILE is not given. "
                    "Prints each problem with file, line, entry and field; exits 65 when there is one.")
    check.add_argument("file", nargs="?", metavar="FILE", help="check only this file")
    add_allowlist_options(check)
    check.set_defaults(allowlist_handler=handle_check)


def _add_show_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    show = commands.add_parser(
        "show", help="print the effective allowlist",
        description="Print the effective allowlist with the file and line each entry came from.")
    add_allowlist_options(show)
    show.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    show.set_defaults(allowlist_handler=handle_show)


def _add_explain_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    explain = commands.add_parser(
        "explain", help="say which entity a domain, address or link belongs to",
        description="Say which entity, if any, a domain, email address or link belongs to, and why. "
                    "Exits 0 when it belongs to an entity or is a neutral link host, 1 otherwise.")
    explain.add_argument("target", metavar="DOMAIN-OR-URL",
                         help="a domain, an email address or a URL; a URL is judged by its host")
    add_allowlist_options(explain)
    explain.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    explain.set_defaults(allowlist_handler=handle_explain)


def run_allowlist(args: argparse.Namespace) -> int:
    """Run the chosen ``allowlist`` subcommand and return its exit status."""
    handler: Handler | None = getattr(args, "allowlist_handler", None)
    if handler is None:
        return _fail(EX_USAGE, "mpsverify allowlist: a subcommand is required: check, show or explain")
    return handler(args)


def handle_check(args: argparse.Namespace) -> int:
    """Run ``allowlist check``: validate one file or every layer of the effective list."""
    if args.file and (args.allowlist or args.allowlist_extra):
        return _fail(EX_USAGE, "mpsverify allowlist check: give FILE or --allowlist/--allowlist-extra, not both")
    if args.file:
        return _check_sources([AllowlistSource(Path(args.file), "FILE", None)], merge=False)
    sources = allowlist_sources(args.allowlist, args.allowlist_extra, os.environ,
                                system_config=allowlist_layers.SYSTEM_CONFIG_PATH)
    return _check_sources(list(sources), merge=True)


def _check_sources(sources: Sequence[AllowlistSource], *, merge: bool) -> int:
    layers: list[LoadedLayer] = []
    problems: list[Problem] = []
    unreadable = False
    for source in sources:
        try:
            layer = read_layer(source)
        except AllowlistReadError as error:
            print(f"mpsverify allowlist check: {error}", file=sys.stderr)
            unreadable = True
            continue
        except AllowlistValidationError as error:
            problems += error.problems
            continue
        if layer is None:
            print(f"{source.path}: not present ({source.role}, optional)")
            continue
        layers.append(layer)
        print(f"{source.path}: valid ({_describe_layer(layer)})")
    if merge and not problems and not unreadable:
        problems += _merge_problems(layers)
    for problem in problems:
        print(problem)
    return _check_status(problems, unreadable)


def _describe_layer(layer: LoadedLayer) -> str:
    count = len(layer.file.entities)
    entities = f"{count} {'entity' if count == 1 else 'entities'}"
    return f"{layer.source.role}, {layer.mode}, {entities}" if layer.source.role != "FILE" else entities


def _merge_problems(layers: Sequence[LoadedLayer]) -> list[Problem]:
    try:
        allowlist = merge_layers(layers)
    except AllowlistValidationError as error:
        return list(error.problems)
    files = len(allowlist.layers)
    print(f"effective allowlist: valid ({len(allowlist.entities)} entities from {files} "
          f"{'file' if files == 1 else 'files'})")
    return []


def _check_status(problems: Sequence[Problem], unreadable: bool) -> int:
    if unreadable:
        return EX_NOINPUT
    if problems:
        count = len(problems)
        print(f"mpsverify allowlist check: {count} {'problem' if count == 1 else 'problems'} found",
              file=sys.stderr)
        return EX_DATAERR
    return EX_OK


def handle_show(args: argparse.Namespace) -> int:
    """Run ``allowlist show``: print the effective list and where each entry came from."""
    allowlist, status = _load(args)
    if allowlist is None:
        return status
    print(json.dumps(allowlist_to_json(allowlist), indent=2) if args.json else render_allowlist(allowlist))
    return EX_OK


def handle_explain(args: argparse.Namespace) -> int:
    """Run ``allowlist explain``: print which entity a domain, address or link belongs to."""
    allowlist, status = _load(args)
    if allowlist is None:
        return status
    try:
        explanation = explain_target(args.target, allowlist)
    except TargetError as error:
        return _fail(EX_USAGE, f"mpsverify allowlist explain: {error}")
    if args.json:
        print(json.dumps(explanation.to_json(), indent=2))
    else:
        print("\n".join(explanation.lines))
    return EX_OK if explanation.entity is not None or explanation.neutral_pattern else EX_NOT_FOUND


def _load(args: argparse.Namespace) -> tuple[Allowlist | None, int]:
    """Load the effective allowlist from the options, or report why not and return a status."""
    try:
        allowlist = load_effective_allowlist(args.allowlist, args.allowlist_extra, os.environ,
                                             system_config=allowlist_layers.SYSTEM_CONFIG_PATH)
        return allowlist, EX_OK
    except AllowlistReadError as error:
        return None, _fail(EX_NOINPUT, f"mpsverify allowlist: {error}")
    except AllowlistValidationError as error:
        for problem in error.problems:
            print(f"mpsverify allowlist: {problem}", file=sys.stderr)
        return None, EX_DATAERR
    except AllowlistError as error:
        return None, _fail(EX_DATAERR, f"mpsverify allowlist: {error}")


def render_allowlist(allowlist: Allowlist) -> str:
    """Render the effective allowlist for a person reading a terminal."""
    lines = [f"Organisation: {allowlist.organisation or '(not set)'}", "Files, in the order applied:"]
    for number, layer in enumerate(allowlist.layers, start=1):
        lines.append(f"  {number}. {layer.path} ({layer.role}, {layer.mode})")
    for entity in allowlist.entities:
        lines += ["", *render_entity(entity)]
    lines.append("")
    if not allowlist.neutral_link_hosts:
        lines.append("Neutral link hosts: none")
    else:
        lines.append("Neutral link hosts:")
        lines += [f"  {host}  ({origin})" for host, origin in allowlist.neutral_origins]
    return "\n".join(lines)


def render_entity(entity: Entity) -> list[str]:
    """Render one entity with the file and line of the entry and of each added value."""
    traits = [entity.kind, *(["open platform"] if entity.open_platform else []),
              f"confidence {entity.confidence or 'not stated'}"]
    lines = [f"{entity.name} ({', '.join(traits)})", f"  from: {_where(entity.origin, entity.line)}"]
    if entity.extended_by:
        lines.append(f"  extended by: {', '.join(entity.extended_by)}")
    if entity.description:
        lines.append(f"  description: {entity.description}")
    for field_name in ("domains", "link_hosts", "brand_hosts", "brand_names"):
        values = getattr(entity, field_name)
        if values or field_name == "domains":
            shown = ", ".join(_value_with_origin(entity, field_name, value) for value in values) or "none"
            lines.append(f"  {field_name.replace('_', ' ')}: {shown}")
    for label, text in (("source", entity.source), ("notes", entity.notes)):
        if text:
            lines += textwrap.wrap(f"{label}: {text}", width=96, initial_indent="  ", subsequent_indent="    ")
    return lines


def _value_with_origin(entity: Entity, field_name: str, value: str) -> str:
    listing = entity.listing(field_name, value)
    if listing is None or listing.origin == entity.origin:
        return value
    return f"{value} (from {_where(listing.origin, listing.line)})"


def _where(origin: str, line: int) -> str:
    return f"{origin}:{line}" if line else origin or "(built in code)"


def allowlist_to_json(allowlist: Allowlist) -> dict[str, Any]:
    """Return the effective allowlist as JSON-ready data, with origins and lines."""
    return {
        "organisation": allowlist.organisation,
        "version": allowlist.version,
        "layers": [dataclasses.asdict(layer) for layer in allowlist.layers],
        "entities": [dataclasses.asdict(entity) for entity in allowlist.entities],
        "neutral_link_hosts": [{"host": host, "origin": origin} for host, origin in allowlist.neutral_origins],
    }


def _fail(status: int, message: str) -> int:
    print(message, file=sys.stderr)
    return status

