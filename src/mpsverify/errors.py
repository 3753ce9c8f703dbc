"""Exceptions for caller mistakes and bad configuration.

Malformed mail never raises: it becomes a result with reasons. These exceptions
are for problems a caller can fix::

    MpsVerifyError            root of everything this package raises on purpose
    +-- ConfigError           an allowlist, snapshot or option is invalid
    |   +-- AllowlistError    the allowlist file breaks the schema
    |   +-- SnapshotError     the DNS snapshot file breaks its format
    |       +-- SnapshotReadError   the DNS snapshot file cannot be read
    +-- NotAMessageError      the input is not an email message at all
"""

from __future__ import annotations


class MpsVerifyError(Exception):
    """Base class for errors a caller can fix."""


class ConfigError(MpsVerifyError):
    """A configuration file or option is invalid."""


class AllowlistError(ConfigError):
    """The allowlist breaks the schema; the message names file, entry and field."""


class SnapshotError(ConfigError):
    """The DNS snapshot file breaks its format."""


class SnapshotReadError(SnapshotError):
    """The DNS snapshot file cannot be read at all."""


class NotAMessageError(MpsVerifyError):
    """The input is not an email message, for example an empty file."""
