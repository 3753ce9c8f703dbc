"""``mpsverify filter``: a pipe filter that adds the verdict to a message.

An MTA pipes each message to the command (for example a Postfix pipe(8)
transport or a procmail rule) with the SMTP envelope as options. The filter
writes the message back on standard output, unchanged except that fields of its
own names that arrived with the message are removed first (RFC 8601 section 5)
and fresh ``X-MPS-Verdict`` and ``Authentication-Results`` fields are added at
the top. The exit status is 0 whenever a message was written, whatever the
verdict, so that the MTA never loses mail because of a check. Rules downstream
act on the added fields. With ``--reject`` the exit status is instead 2 for
spoofed and impersonation, which Postfix's pipe(8) and similar tools turn into
a bounce.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import BinaryIO

from .headers import (AUTHRES_FIELD, VERDICT_FIELD, authentication_results_field, check_authserv_id,
                      prepend_fields, remove_fields, verdict_field)
from .results import Verdict
from .spf import Envelope

logger = logging.getLogger(__name__)

#: sysexits.h EX_IOERR: the message could not be read from standard input.
EX_IOERR = 74
_REJECTED = frozenset({Verdict.SPOOFED, Verdict.IMPERSONATION})


def add_filter_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``filter`` command to ``commands``."""
    from .cli import add_envelope_options, add_source_options

    parser = commands.add_parser(
        "filter", help="read a message on standard input and write it with the verdict added",
        description="Pipe filter for an MTA: reads one message on standard input, writes it on standard "
                    "output with X-MPS-Verdict and Authentication-Results fields added.")
    add_source_options(parser)
    add_envelope_options(parser)
    parser.add_argument("--authserv-id", required=True, metavar="ID",
                        help="the name of this server in the Authentication-Results field it writes")
    parser.add_argument("--reject", action="store_true",
                        help="exit with status 2 for spoofed and impersonation, so the MTA bounces them")
    parser.set_defaults(handler=run_filter)


def run_filter(args: argparse.Namespace, source: BinaryIO | None = None, sink: BinaryIO | None = None) -> int:
    """Check the message on ``source`` and write it, with the fields added, to ``sink``."""
    from .cli import make_verifier

    authserv_id = check_authserv_id(args.authserv_id)
    try:
        data = (source or sys.stdin.buffer).read()
    except OSError as error:
        print(f"mpsverify filter: cannot read the message: {error}", file=sys.stderr)
        return EX_IOERR
    verifier = make_verifier(args)
    result = verifier.verify(data, Envelope(args.client_ip, args.helo, args.mail_from), args.now)
    output = remove_fields(data, VERDICT_FIELD)
    output = remove_fields(output, AUTHRES_FIELD, authserv_id)
    output = prepend_fields(output, [verdict_field(result), authentication_results_field(result, authserv_id)])
    (sink or sys.stdout.buffer).write(output)
    logger.info("filter verdict %s", result.verdict.value)
    return 2 if args.reject and result.verdict in _REJECTED else 0
