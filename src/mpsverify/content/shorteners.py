"""Public URL-shortening services, whose links hide their final destination.

Matched against a link's host and its registrable domain. Branded short domains
that organisations run for themselves (such as a company's own go.example.com)
are not listed: the allowlist's link_hosts covers those.
"""

from __future__ import annotations

from typing import Final

SHORTENER_HOSTS: Final = frozenset({
    "1url.com", "adf.ly", "aka.ms", "bit.do", "bit.ly", "bitly.com", "bl.ink", "buff.ly", "cli.gs",
    "cutt.ly", "db.tt", "dlvr.it", "fb.me", "goo.gl", "is.gd", "j.mp", "lnkd.in", "ow.ly",
    "qr.ae", "qrco.de", "rb.gy", "rebrand.ly", "s.id", "shorte.st", "shorturl.at", "snip.ly",
    "soo.gd", "t.co", "t.ly", "tiny.cc", "tiny.one", "tinyurl.com", "tr.im", "trib.al",
    "u.to", "urlz.fr", "v.gd", "x.co", "zpr.io",
})


def is_shortener(host: str, registrable: str) -> bool:
    """Return True when ``host`` or its registrable domain is a public URL shortener."""
    return host in SHORTENER_HOSTS or registrable in SHORTENER_HOSTS
