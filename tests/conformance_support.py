"""Load the published conformance suites and answer their DNS data offline.

The suites are third-party data kept outside this repository, in
``shared/conformance`` next to the project folder. Set the environment variable
MPSVERIFY_CONFORMANCE to use another folder; the tests skip when the folder is
missing. Nothing here touches the network.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mpsverify.resolver import DnsAnswer, DnsStatus, SnapshotResolver

ENVIRONMENT_VARIABLE = "MPSVERIFY_CONFORMANCE"
DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"


def conformance_root() -> Path:
    """Return the suites folder: MPSVERIFY_CONFORMANCE if set, else the shared default."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    return Path(configured) if configured else DEFAULT_ROOT


def require_suite(relative: str) -> Path:
    """Return the path of one suite file, or skip the calling test module when it is missing."""
    path = conformance_root() / relative
    if not path.is_file():
        pytest.skip(f"conformance suite {path} not found; set {ENVIRONMENT_VARIABLE} to its folder",
                    allow_module_level=True)
    return path


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    """Load every YAML document of a suite file, skipping empty ones."""
    with path.open("rb") as stream:
        return [document for document in yaml.safe_load_all(stream) if document]


def iter_mapping_items(path: Path, key: str) -> Iterator[tuple[int, str, Any]]:
    """Yield (document index, name, value) for each entry under ``key`` in every document.

    ``yaml.safe_load`` keeps only the last of two equal keys in one mapping, and
    the ARC suite repeats four test names within one scenario with different
    messages, so this walks the composed nodes to keep every entry.
    """
    loader_class = yaml.SafeLoader
    with path.open("rb") as stream:
        nodes = list(yaml.compose_all(stream, Loader=loader_class))
    for index, document in enumerate(node for node in nodes if node is not None):
        for key_node, value_node in document.value:
            if key_node.value != key:
                continue
            for name_node, entry_node in value_node.value:
                loader = loader_class("")
                yield index, str(name_node.value), loader.construct_object(entry_node, deep=True)


def case_id(*parts: str) -> str:
    """Join scenario and test names into a pytest id without spaces."""
    return "/".join(part.strip().lower().replace(" ", "-") for part in parts)


# --- pyspf zone data --------------------------------------------------------


@dataclass(frozen=True)
class _Record:
    rdtype: str
    #: Presentation form, or None when the record simulates a timeout for its type.
    value: str | None


class ZoneResolver:
    """Answer DNS queries from the zone data of a pyspf test scenario.

    The rules follow pyspf's own driver for the suite (test/testspf.py):

    * An SPF (type 99) entry is also served as TXT when the name lists no TXT
      entry at all. ``TXT: NONE`` adds no record but turns that copy off.
    * A bare ``TIMEOUT`` entry makes a query time out unless an earlier entry
      for the same name matched the queried type.
    * A TXT value that is a list of strings is one record, the strings joined.

    A name that is not listed does not exist. CNAME chains are followed as a
    recursive resolver would. A CNAME loop fails with SERVFAIL because the
    suite's ptr-cname-loop test treats a loop as a DNS error.
    """

    def __init__(self, zonedata: Mapping[str, Sequence[Any]]) -> None:
        self._zone = {_normalise(name): _zone_entries(entries) for name, entries in zonedata.items()}

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        return self._lookup(_normalise(name), rdtype.upper(), set())

    def _lookup(self, name: str, rdtype: str, visited: set[str]) -> DnsAnswer:
        entries = self._zone.get(name)
        if entries is None:
            return DnsAnswer(DnsStatus.NXDOMAIN)
        records: list[str] = []
        cname = ""
        for entry in entries:
            if entry is None:
                if not records:
                    return DnsAnswer(DnsStatus.TIMEOUT)
                break
            if entry.rdtype == "CNAME" and entry.value:
                cname = _normalise(entry.value)
            if entry.rdtype != rdtype:
                continue
            if entry.value is None:
                return DnsAnswer(DnsStatus.TIMEOUT)
            records.append(entry.value)
        if records:
            return DnsAnswer(DnsStatus.OK, tuple(records))
        if cname and rdtype != "CNAME":
            if cname in visited or cname == name:
                return DnsAnswer(DnsStatus.SERVFAIL)
            return self._lookup(cname, rdtype, visited | {name})
        return DnsAnswer(DnsStatus.NODATA)


def _normalise(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _zone_entries(entries: Sequence[Any]) -> list[_Record | None]:
    """Convert one name's entries, with None in place of each bare TIMEOUT entry."""
    converted: list[_Record | None] = []
    copied_txt: list[_Record | None] = []
    has_txt = False
    for entry in entries:
        if entry == "TIMEOUT":
            converted.append(None)
            continue
        for rdtype, value in dict(entry).items():
            rdtype = str(rdtype).upper()
            if rdtype == "TXT":
                has_txt = True
            if value == "NONE":
                continue
            record = _Record(rdtype, None if value == "TIMEOUT" else _presentation(rdtype, value))
            converted.append(record)
            if rdtype == "SPF":
                copied_txt.append(_Record("TXT", record.value))
    if not has_txt:
        converted.extend(copied_txt)
    return converted


def _presentation(rdtype: str, value: Any) -> str:
    if rdtype in ("TXT", "SPF"):
        strings = value if isinstance(value, list) else [value]
        return "".join(str(item) for item in strings)
    if rdtype == "MX":
        preference, exchange = value
        return f"{int(preference)} {exchange}"
    return str(value)


# --- DKIM and ARC sample files -----------------------------------------------


@dataclass(frozen=True)
class SampleMessage:
    """A sample file: the TXT records that verify it and the raw message."""

    txt_records: dict[str, str]
    raw: bytes

    def resolver(self) -> SnapshotResolver:
        """Return our SnapshotResolver serving the sample's keys."""
        return snapshot_resolver(self.txt_records)


def load_sample(path: Path) -> SampleMessage:
    """Parse ``name record`` lines, a blank line, then the message, kept byte for byte."""
    data = path.read_bytes()
    header, separator, raw = data.partition(b"\n\n")
    if not separator:
        raise ValueError(f"{path}: no blank line between the DNS records and the message")
    records: dict[str, str] = {}
    for line in header.decode("ascii").splitlines():
        name, _, record = line.strip().partition(" ")
        records[name] = record.strip()
    return SampleMessage(records, raw)


def snapshot_resolver(txt_records: Mapping[str, str]) -> SnapshotResolver:
    """Build our SnapshotResolver serving each name's TXT record; other names do not exist."""
    return SnapshotResolver({name: {"TXT": [record]} for name, record in txt_records.items()},
                            label="<conformance>")
