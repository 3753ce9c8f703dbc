"""The mpsverify command.

Exit statuses (sysexits.h names in brackets):
  0   authentic or partner
  1   unrelated or unverified
  2   suspicious, spoofed or impersonation
  64  usage error (EX_USAGE)
  65  the input is not an email message (EX_DATAERR)
  66  a message, allowlist or DNS snapshot file cannot be read (EX_NOINPUT)
  78  an allowlist or DNS snapshot file is invalid (EX_CONFIG)
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn, cast

from .allowlist import Allowlist, AllowlistReadError
from .allowlist_layers import load_effective_allowlist
from .errors import ConfigError, SnapshotReadError
from .resolver import LiveResolver, Resolver, SnapshotResolver
from .results import Severity, Verification
from .spf import Envelope
from .verify import Settings, Verifier

EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_CONFIG = 64, 65, 66, 78

_MARKS = {Severity.GOOD: "+", Severity.INFO: " ", Severity.WARNING: "!", Severity.DANGER: "x"}
_SUMMARIES = {
    "authentic": "genuine mail from {entity}",
    "partner": "genuine mail from {entity}, a partner acting for MPS",
    "unverified": "claims to be from {entity}, but that could not be checked",
    "unrelated": "does not claim to come from MPS or its partners",
    "suspicious": "sent by {entity}, but with risky content",
    "spoofed": "claims to be from {entity}, but is forged",
    "impersonation": "poses as {entity} from an address that is not theirs",
}


class UsageError(Exception):
    """A bad command line; reported in one line with exit status 64."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for every subcommand."""
    parser = _Parser(prog="mpsverify", description="Check whether an email really comes from MPS "
                     "(the Medical Protection Society) or a partner acting for it.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more detail to standard error")
    commands = cast("argparse._SubParsersAction[argparse.ArgumentParser]",
                    parser.add_subparsers(dest="command", required=True, parser_class=_Parser))
    check = commands.add_parser("check", help="check one message file", description="Check one raw message "
                                "(RFC 5322, CRLF or LF line endings) and print the verdict.")
    add_source_options(check)
    add_envelope_options(check)
    check.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    check.add_argument("message", metavar="MESSAGE-FILE", help="the raw message; - reads standard input")
    _add_optional_commands(commands)
    return parser


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """Add the options choosing the allowlist, DNS source and trust settings."""
    from .allowlist_cli import add_allowlist_options

    add_allowlist_options(parser)
    parser.add_argument("--dns-snapshot", metavar="FILE",
                        help="answer every DNS query from this YAML snapshot; no network is used")
    parser.add_argument("--dns-server", metavar="IP", action="append", default=[],
                        help="query this DNS server instead of the system's (repeatable)")
    parser.add_argument("--dns-port", metavar="PORT", type=int, default=53, help="port of --dns-server (default 53)")
    parser.add_argument("--dns-timeout", metavar="SECONDS", type=float, default=3.0,
                        help="time limit for one DNS query, in seconds (default 3)")
    parser.add_argument("--trust-authserv-id", metavar="ID", action="append", default=[],
                        help="trust Authentication-Results fields from this authserv-id (repeatable)")
    parser.add_argument("--trust-arc-sealer", metavar="DOMAIN", action="append", default=[],
                        help="trust results recorded by this ARC sealer (repeatable)")


def add_envelope_options(parser: argparse.ArgumentParser) -> None:
    """Add the SMTP envelope options and --now."""
    parser.add_argument("--client-ip", metavar="IP", type=_parse_ip,
                        help="IP address of the server that sent the message (IPv4 or IPv6)")
    parser.add_argument("--helo", metavar="NAME", help="the name the sending server gave in HELO or EHLO")
    parser.add_argument("--mail-from", metavar="ADDRESS",
                        help='the SMTP MAIL FROM address; "" is the null sender <>')
    parser.add_argument("--now", metavar="ISO-8601-TIME", type=_parse_time,
                        help="judge signature times as of this moment, such as 2026-12-10T10:00:00Z; "
                             "a time without a zone is local time (default: now)")


def _parse_ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an IP address such as 192.0.2.10 or 2001:db8::1")


def _parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO 8601 time such as 2026-12-10T10:00:00Z")
    return moment if moment.tzinfo else moment.astimezone()


def _add_optional_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .allowlist_cli import add_allowlist_parser
    from .filter import add_filter_parser
    from .milter import add_milter_parser
    from .scan import add_scan_parser
    from .serve import add_serve_parser

    add_allowlist_parser(commands)
    add_scan_parser(commands)
    add_filter_parser(commands)
    add_milter_parser(commands)
    add_serve_parser(commands)


def make_verifier(args: argparse.Namespace) -> Verifier:
    """Build a Verifier from parsed options; raises ConfigError or OSError for bad files."""
    allowlist = load_effective_allowlist(args.allowlist, args.allowlist_extra, os.environ)
    settings = Settings(tuple(args.trust_authserv_id), tuple(args.trust_arc_sealer),
                        dns_budget_seconds=max(10.0, args.dns_timeout * 4))
    return Verifier(allowlist, make_resolver(args), settings)


def make_resolver(args: argparse.Namespace) -> Resolver:
    """Return a snapshot resolver when --dns-snapshot is given, else a live one."""
    if args.dns_snapshot:
        return SnapshotResolver.from_file(args.dns_snapshot)
    return LiveResolver(args.dns_server or None, args.dns_port, args.dns_timeout)


def read_message(name: str) -> bytes:
    """Read a message file, or standard input for "-"."""
    if name == "-":
        return sys.stdin.buffer.read()
    return Path(name).read_bytes()


def run_check(args: argparse.Namespace) -> int:
    """Run ``mpsverify check``; return the exit status."""
    try:
        data = read_message(args.message)
    except OSError as error:
        return _fail(EX_NOINPUT, f"mpsverify: cannot read {args.message}: {error.strerror or error}")
    verifier = make_verifier(args)
    envelope = Envelope(args.client_ip, args.helo, args.mail_from)
    result = verifier.verify(data, envelope, args.now)
    if "message.not-email" in result.codes():
        return _fail(EX_DATAERR, f"mpsverify: {args.message} is not an email message (no header fields)")
    print(result.to_json(indent=2) if args.json else render_text(result, verifier.allowlist))
    return result.verdict.exit_status


def render_text(result: Verification, allowlist: Allowlist) -> str:
    """Render a result for a person reading a terminal."""
    entity = result.entity or result.claimed_entity or allowlist.organisation or "MPS"
    summary = _SUMMARIES[result.verdict.value].format(entity=entity)
    lines = [f"Verdict: {result.verdict.value} ({summary})"]
    if result.author:
        name = f'"{result.author.display_name}" ' if result.author.display_name else ""
        lines.append(f"From: {name}<{result.author.address}>")
    lines.append("Findings:")
    lines += [f"  {_MARKS[reason.severity]} {reason.message}" for reason in result.reasons]
    lines.append("Key: + counts in favour of the message, ! weakens trust or could not be checked, "
                 "x is evidence of forgery or risk.")
    return "\n".join(lines)


def _fail(status: int, message: str) -> int:
    print(message, file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the mpsverify command."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:
        return _fail(EX_USAGE, str(error))
    logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose, 2), format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args)) if hasattr(args, "handler") else run_check(args)
    except (AllowlistReadError, SnapshotReadError) as error:
        return _fail(EX_NOINPUT, f"mpsverify: {error}")
    except ConfigError as error:
        return _fail(EX_CONFIG, f"mpsverify: {error}")
    except BrokenPipeError:
        # The reader went away (for example "| head"); stop quietly as other tools do.
        sys.stderr.close()
        return 0
    except OSError as error:
        return _fail(EX_NOINPUT, f"mpsverify: {error.filename or ''}: {error.strerror or error}")
    except KeyboardInterrupt:
        return 130
