"""mpsverify: is this email really from MPS, or from a partner acting for it?

Typical use::

    from mpsverify import verify
    result = verify(raw_bytes, client_ip="192.0.2.10", helo="mta1.example",
                    mail_from="bounce@medicalprotection.org")
    print(result.verdict.value, [reason.message for reason in result.reasons])
"""

from __future__ import annotations

from .allowlist import Allowlist, Entity, default_allowlist, load_allowlist
from .errors import AllowlistError, ConfigError, MpsVerifyError, NotAMessageError, SnapshotError
from .message import Limits
from .resolver import DnsAnswer, DnsStatus, LiveResolver, Resolver, SnapshotResolver
from .results import (ArcResult, Author, AuthresResult, DkimResult, DmarcResult, LinkResult, Reason, Severity,
                      SpfResult, Status, Verdict, Verification)
from .spf import Envelope
from .verify import Settings, Verifier, verify

__version__ = "0.1.0"

__all__ = [
    "Allowlist", "AllowlistError", "ArcResult", "Author", "AuthresResult", "ConfigError", "DkimResult",
    "DmarcResult", "DnsAnswer", "DnsStatus", "Entity", "Envelope", "Limits", "LinkResult", "LiveResolver",
    "MpsVerifyError", "NotAMessageError", "Reason", "Resolver", "Settings", "Severity", "SnapshotError",
    "SnapshotResolver", "SpfResult", "Status", "Verdict", "Verification", "Verifier", "default_allowlist",
    "load_allowlist", "verify",
]
