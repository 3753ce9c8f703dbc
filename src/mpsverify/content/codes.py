"""Reason codes produced by content analysis, merged into :mod:`mpsverify.reasons`."""

from __future__ import annotations

from typing import Final

from ..results import Severity

W, D, I = Severity.WARNING, Severity.DANGER, Severity.INFO

CONTENT_CODES: Final[dict[str, tuple[Severity, str]]] = {}
