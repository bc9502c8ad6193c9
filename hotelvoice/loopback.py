"""Whether a host is this machine: what only local clients and local development may use."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``, ``::ffff:127.x.y.z``).

    Only an address or the exact name ``localhost`` counts: a name that merely starts like one
    (``127.hotel.example.com``, ``localhost.evil.com``) is whatever DNS says, so it is not.
    """
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # a bracketed IPv6 literal, as in a URL or a bind address
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` names a loopback host."""
    try:
        return is_loopback(urlsplit(url).hostname or "")
    except ValueError:  # a malformed URL (an unbalanced bracket) names no host
        return False
