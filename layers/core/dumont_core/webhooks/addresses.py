"""Which receivers a webhook may reach: no request of ours is made to a private, loopback, link-local or
metadata address on a user's behalf (server-side request forgery).

A URL is checked when it is subscribed and again at every send. At send time its host is resolved once
and the request connects to the address that was checked, so a name that resolves elsewhere the second
time (DNS rebinding) reaches nothing it should not.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from dumont_core.platform.errors import ValidationFailed

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class RefusedAddress(ValidationFailed):
    """A receiver's URL names, or resolves to, an address webhooks may not reach."""


@dataclass(frozen=True)
class AddressPolicy:
    allow_http: bool = False
    allow_loopback: bool = False
    """The local stack's default: a developer receives on localhost."""


@dataclass(frozen=True)
class Target:
    """Where a checked URL is sent: its parts, and the address its host resolved to."""

    url: SplitResult
    host: str
    port: int
    address: str

    @property
    def connect_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return self.url._replace(netloc=f"{host}:{self.port}").geturl()

    @property
    def host_header(self) -> str:
        default = 443 if self.url.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


def system_resolver(host: str, port: int) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def parse(url: str, policy: AddressPolicy) -> tuple[SplitResult, str, int]:
    """The URL's parts, its host and its port; ValidationFailed when it is not one we may send to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise _invalid(url, f"it is not a URL ({error})") from None
    schemes = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme not in schemes:
        raise _invalid(url, f"it must start with {' or '.join(f'{s}://' for s in schemes)}")
    if not parts.hostname:
        raise _invalid(url, "it names no host")
    if parts.username is not None or parts.password is not None:
        raise _invalid(url, "credentials in the URL are not sent; use the signature to authenticate us")
    return parts, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def refusal(address: IpAddress, policy: AddressPolicy) -> str | None:
    """Why webhooks may not reach `address`, or None when they may."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        return refusal(mapped, policy)
    if address.is_loopback:
        return None if policy.allow_loopback else "a loopback address"
    if address.is_link_local:
        return "a link-local address (the cloud's instance metadata lives there)"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "an address that is not a host"
    if address.is_private or not address.is_global:
        return "a private address"
    return None


def check(url: str, policy: AddressPolicy, resolver: Resolver = system_resolver) -> Target | None:
    """The target a URL is sent to, every address its host resolves to checked; RefusedAddress when one
    is forbidden, None when the host does not resolve (now: it may later, and sending will say so)."""
    parts, host, port = parse(url, policy)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(found.split("%")[0]) for found in resolver(host, port)]
        except (OSError, ValueError):
            # Not found, or not a name a resolver takes (a NUL, a label too long): nothing to reach.
            return None
    if not addresses:
        return None
    for address in addresses:
        reason = refusal(address, policy)
        if reason is not None:
            raise RefusedAddress(
                f"Webhooks may not be sent to {url}: {host} is {reason}",
                details={"fields": [{"field": "url", "message": f"{host} is {reason}"}]},
            )
    return Target(url=parts, host=host, port=port, address=str(addresses[0]))


def _invalid(url: str, why: str) -> ValidationFailed:
    message = f"{url[:200]!r} cannot receive webhooks: {why}"
    return ValidationFailed(message, details={"fields": [{"field": "url", "message": why}]})
