"""Which portal a Host header names. Pure functions: no request, no database."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import Enum

SLUG_RE = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,39}$")
# Names a municipality can never take: they are, or may become, hosts of the platform itself.
RESERVED_SLUGS = frozenset({"www", "admin", "api", "static", "mail", "smtp", "dev", "assets", "shared", "tenant"})
MAX_HOST_LENGTH = 253
_DEFAULT_PORTS = (None, 80, 443)
_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class HostKind(Enum):
    REGION = "region"
    SUBDOMAIN = "subdomain"  # key: the subdomain label
    DOMAIN = "domain"  # key: a candidate custom domain (exact hostname)
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class HostMatch:
    kind: HostKind
    key: str | None = None


UNKNOWN = HostMatch(HostKind.UNKNOWN)


def split_host(host: str) -> tuple[str, int | None] | None:
    """``Herent.Localhost.:5000`` → ``("herent.localhost", 5000)``; None when malformed."""
    if not host or len(host) > MAX_HOST_LENGTH + 6 or not host.isascii():
        return None
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 literal never names a portal
        return None
    name, sep, port_text = host.partition(":")
    port = None
    if sep:
        if not port_text.isdigit() or len(port_text) > 5 or not 0 < int(port_text) < 65536:
            return None
        port = int(port_text)
    if name.endswith("."):  # the fully qualified form names the same host
        name = name[:-1]
    if not name or len(name) > MAX_HOST_LENGTH:
        return None
    if not all(_LABEL_RE.match(label) for label in name.split(".")):
        return None
    return name, port


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def classify_host(host: str, region_server_name: str) -> HostMatch:
    """Classify a Host header against the region's server name (which may carry a port).

    The bare server name is the regional portal; one label in front of it is a municipal
    subdomain; any other well-formed name may be a municipality's custom domain.
    IP literals, foreign ports, nested subdomains and malformed names match nothing.
    """
    parsed = split_host(host)
    region = split_host(region_server_name)
    if parsed is None or region is None:
        return UNKNOWN
    name, port = parsed
    region_name, region_port = region
    if _is_ip_literal(name):
        return UNKNOWN

    if name == region_name or name.endswith("." + region_name):
        allowed = _DEFAULT_PORTS if region_port is None else (region_port,)
        if port not in allowed:
            return UNKNOWN
        if name == region_name:
            return HostMatch(HostKind.REGION)
        label = name[: -len(region_name) - 1]
        if "." in label or not SLUG_RE.match(label):
            return UNKNOWN
        return HostMatch(HostKind.SUBDOMAIN, label)

    # Custom domains are served on the standard ports only.
    if port not in _DEFAULT_PORTS:
        return UNKNOWN
    return HostMatch(HostKind.DOMAIN, name)
