"""Turn a DNS snapshot (the YAML format SnapshotResolver reads) into an Unbound configuration.

The live-mode tests serve each snapshot from a real Unbound instance on 127.0.0.1,
so that the same answers reach the product through dnspython and the network.
Every name is answered from ``local-data``; nothing is ever forwarded or recursed
(``local-zone: "." static`` makes every unlisted name NXDOMAIN).

Unbound cannot fail one record type of a name, so failures are per name:

* a name with ``SERVFAIL`` for any type is an ``always_refuse`` zone. The server
  answers REFUSED, and dnspython reports that as "no nameserver could answer",
  which the live resolver maps to SERVFAIL, as the snapshot does;
* a name with ``TIMEOUT`` for any type is a ``deny`` zone: the query is dropped and
  the client times out.

NOTE: such a zone also fails the name's other record types and its unlisted
subdomains, where the snapshot answers NODATA or NXDOMAIN. Listed subdomains of
a failing name get a ``static`` zone of their own, so they are still answered.

Run as a script to write one configuration::

    python tests/dnszones.py SNAPSHOT.yaml PORT DIRECTORY
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

FAILURES = {"SERVFAIL": "always_refuse", "TIMEOUT": "deny"}
#: Maximum length of one TXT character-string (RFC 1035 section 3.3.14).
MAX_TXT_STRING = 255
TTL = 300

Snapshot = dict[str, dict[str, Any]]


def load_snapshot(path: str | Path) -> Snapshot:
    """Read a snapshot file into {lower-case name: {TYPE: answers}}."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: a DNS snapshot must map names to record types")
    snapshot: Snapshot = {}
    for name, types in data.items():
        key = str(name).strip().rstrip(".").lower()
        snapshot[key] = {str(rdtype).upper(): value for rdtype, value in (types or {}).items()}
    return snapshot


def quote_txt(text: str) -> str:
    """Write TXT data as quoted character-strings of at most 255 bytes each.

    The snapshot's TXT text is the concatenation of the strings, decoded as
    Latin-1, so the bytes are split back into strings of the maximum length.
    Quotes, backslashes, apostrophes (which end Unbound's quoted option value)
    and bytes outside printable ASCII are written as \\DDD escapes.
    """
    data = text.encode("latin-1", errors="replace")
    chunks = [data[start: start + MAX_TXT_STRING] for start in range(0, len(data), MAX_TXT_STRING)] or [b""]
    return " ".join('"' + "".join(_escape_byte(byte) for byte in chunk) + '"' for chunk in chunks)


def _escape_byte(byte: int) -> str:
    if 0x20 <= byte < 0x7F and chr(byte) not in "\"\\'":
        return chr(byte)
    return f"\\{byte:03d}"


def rdata_text(rdtype: str, value: object) -> str:
    """Return one answer in the presentation form Unbound's local-data expects."""
    text = str(value).strip()
    if rdtype == "TXT":
        return quote_txt(str(value))
    if rdtype == "MX":
        preference, _, exchange = text.partition(" ")
        return f"{preference} {_absolute(exchange.strip())}"
    if rdtype in ("CNAME", "NS", "PTR"):
        return _absolute(text)
    return text


def _absolute(name: str) -> str:
    return name if name.endswith(".") else name + "."


def failing_zone(types: Mapping[str, Any]) -> str | None:
    """Return the Unbound zone type for a name whose answers fail, or None."""
    for value in types.values():
        if isinstance(value, str) and value in FAILURES:
            return FAILURES[value]
    return None


def _has_failing_ancestor(name: str, failing: set[str]) -> bool:
    labels = name.split(".")
    return any(".".join(labels[index:]) in failing for index in range(1, len(labels)))


def unbound_config(snapshot: Snapshot, port: int, directory: str | Path) -> str:
    """Build the text of an unbound.conf that serves ``snapshot`` on 127.0.0.1:``port``."""
    directory = Path(directory).resolve()
    lines = [
        "server:",
        "    interface: 127.0.0.1",
        f"    port: {port}",
        "    do-ip4: yes",
        "    do-ip6: no",
        "    do-udp: yes",
        "    do-tcp: yes",
        "    access-control: 127.0.0.0/8 allow",
        '    username: ""',
        '    chroot: ""',
        f'    directory: "{directory}"',
        f'    pidfile: "{directory / "unbound.pid"}"',
        f'    logfile: "{directory / "unbound.log"}"',
        "    use-syslog: no",
        "    verbosity: 1",
        "    num-threads: 1",
        "    do-daemonize: yes",
        '    module-config: "iterator"',
        "    do-not-query-localhost: yes",
        # Answer everything locally: unlisted names are NXDOMAIN, never recursed.
        '    local-zone: "." static',
    ]
    failing = {name for name, types in snapshot.items() if failing_zone(types)}
    for name in sorted(snapshot):
        zone = failing_zone(snapshot[name])
        if zone:
            lines.append(f'    local-zone: "{name}." {zone}')
        elif _has_failing_ancestor(name, failing):
            lines.append(f'    local-zone: "{name}." static')
    for name in sorted(snapshot):
        for rdtype, answers in sorted(snapshot[name].items()):
            if not isinstance(answers, list):
                continue
            for answer in answers:
                lines.append(f"    local-data: '{name}. {TTL} IN {rdtype} {rdata_text(rdtype, answer)}'")
    return "\n".join(lines) + "\n"


def write_unbound_config(snapshot_path: str | Path, port: int, directory: str | Path) -> Path:
    """Write ``directory``/unbound.conf for one snapshot and return its path."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "unbound.conf"
    target.write_text(unbound_config(load_snapshot(snapshot_path), port, folder), encoding="ascii")
    return target


def main(argv: list[str]) -> int:
    """Write one configuration; the arguments are SNAPSHOT PORT DIRECTORY."""
    if len(argv) != 3 or not argv[1].isdigit():
        print("usage: python tests/dnszones.py SNAPSHOT.yaml PORT DIRECTORY", file=sys.stderr)
        return 64
    print(write_unbound_config(argv[0], int(argv[1]), argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
