"""Where an output's files may be downloaded from.

A model's output names the URL reval fetches, and a redirect names the next one: without a
rule, a model (or whoever serves its files) could make reval request
``http://169.254.169.254/`` (a cloud's metadata service), a router's admin page, or any service
on the machine running the eval. Replicate serves files over https from public hosts
(replicate.delivery), so for ``replicate:`` providers every URL, the first and each redirect,
must be https and its host must resolve only to public addresses. The API's own origin is
trusted: a proxy or a test double at ``REPLICATE_BASE_URL`` serves its files there. A ``cog:``
server runs on this machine by design, so its files are fetched under no rule.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 6052's well-known NAT64 prefix: an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def origin(url: str | httpx.URL) -> Origin:
    parsed = httpx.URL(url)
    scheme = parsed.scheme.lower()
    return scheme, parsed.host.lower(), parsed.port or _DEFAULT_PORTS.get(scheme, 0)


@dataclass(frozen=True)
class DownloadPolicy:
    """``public_only``: every URL must be https and resolve only to public addresses, unless it
    is on one of ``trusted_origins``. ``max_redirects``: hops followed after the first URL."""

    public_only: bool = False
    trusted_origins: frozenset[Origin] = frozenset()
    max_redirects: int = 5

    @classmethod
    def public(cls, *, trusting: str) -> DownloadPolicy:
        """Public https URLs only, and any URL on ``trusting``'s origin."""
        return cls(public_only=True, trusted_origins=frozenset({origin(trusting)}))

    async def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be fetched (a sentence fragment), or None when it may."""
        if not self.public_only:
            return None
        parsed = httpx.URL(url)
        if origin(parsed) in self.trusted_origins:
            return None
        if parsed.scheme.lower() != "https":
            return f"it is not an https URL ({self._rule})"
        host = parsed.host
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, parsed.port or 443, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as exc:
            return f"its host `{host}` does not resolve ({getattr(exc, 'strerror', None) or exc})"
        for *_, address in found:
            ip = ipaddress.ip_address(str(address[0]).partition("%")[0])
            why = address_refusal(ip)
            if why is not None:
                shown = host if _is_literal(host, ip) else f"`{host}` resolves to {ip}, which"
                return f"{shown} is {why} ({self._rule})"
        return None

    @property
    def _rule(self) -> str:
        return "a Replicate model's files are downloaded only over https from public addresses"


def _is_literal(host: str, ip: IPAddress) -> bool:
    try:
        return ipaddress.ip_address(host) == ip
    except ValueError:
        return False


def address_refusal(ip: IPAddress) -> str | None:
    """What kind of non-public address ``ip`` is, or None for a public one."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            why = address_refusal(embedded)
            return f"{embedded} inside an IPv6 address, {why}" if why else None
    kinds = [
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address (where cloud metadata services answer)"),
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    ]
    return next((why for matched, why in kinds if matched), None)
