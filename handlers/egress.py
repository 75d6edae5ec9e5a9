"""The egress guard: which addresses a URL from a workflow or a client may reach.

A workflow is code a user sends us, and the worker runs it next to Redis, the database and the Prefect API.
So every URL a workflow or a client supplies (the http node, excelInput and pdfInput ``url``, ``callbackUrl``,
push endpoints) may only reach globally routable addresses, unless the operator opens a hole with
``HUB_EGRESS_ALLOW``.

The check happens where the connection is made (``guarded_client``): the host is resolved once, every
address it resolves to is checked, and the socket connects to that very address while TLS and ``Host`` still
name the host. A name that answers differently the second time (DNS rebinding) therefore cannot slip
through, and every redirect hop opens a connection of its own that is checked the same way.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from handlers.contract import NodeError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_SETTING = "HUB_EGRESS_ALLOW"

_METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))
_NAMED_RANGES: tuple[tuple[str, IPNetwork], ...] = tuple(
    (name, ipaddress.ip_network(network))
    for name, network in (
        ("shared (CGNAT)", "100.64.0.0/10"),
        ("private", "10.0.0.0/8"),
        ("private", "172.16.0.0/12"),
        ("private", "192.168.0.0/16"),
        ("private (ULA)", "fc00::/7"),
        ("IPv4-compatible IPv6", "::/96"),
        # The IETF's protocol assignments; Python's is_global tells them apart differently by version.
        ("reserved", "192.0.0.0/24"),
    )
)
_EMBEDDING = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_.-]{0,251}[a-z0-9_])?\.?$")


class EgressRefused(NodeError):
    """Raised when a URL's host is, or resolves to, an address the egress guard refuses."""


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an http(s) URL that httpx can send to, or None when it is one."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return "must be a valid http:// or https:// URL"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "must be an http:// or https:// URL with a host"
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        return "must have a port from 1 to 65535"
    return None


def refusal(address: IPAddress) -> str | None:
    """The rule that refuses ``address`` (``loopback``, ``private``…), or None for a globally routable one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or _nat64(address)
        if embedded is not None:
            return refusal(embedded)
    if address in _METADATA:
        return "cloud metadata"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    for name, network in _NAMED_RANGES:
        if address.version == network.version and address in network:
            return name
    if not address.is_global:
        return "reserved"
    return None


def _nat64(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside a NAT64 address (``64:ff9b::a.b.c.d``), which a NAT64 gateway would reach."""
    if any(address in network for network in _EMBEDDING):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal names, in every spelling a resolver accepts.

    Besides dotted quads and IPv6 (bracketed or not, a zone allowed), that is the old ``inet_aton`` forms:
    ``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``. A host name gives None.
    """
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    return _inet_aton(text.removesuffix("."))


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        number = _aton_number(part)
        if number is None:
            return None
        numbers.append(number)
    *head, last = numbers
    if any(number > 255 for number in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = 0
    for number in head:
        value = value * 256 + number
    return ipaddress.IPv4Address(value * 256 ** (5 - len(numbers)) + last)


def _aton_number(part: str) -> int | None:
    try:
        if part.startswith("0x"):
            return int(part[2:], 16) if part[2:] else 0
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10) if part.isdigit() else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class AllowRule:
    """One entry of ``HUB_EGRESS_ALLOW``: a network or a host name, on one port or (None) on every port."""

    network: IPNetwork | None = None
    host: str | None = None
    port: int | None = None

    def allows(self, host: str, address: IPAddress | None, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host is not None:
            return self.host == host.lower().rstrip(".")
        return address is not None and self.network is not None and _within(address, self.network)


def _within(address: IPAddress, network: IPNetwork) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.version == network.version and address in network


def parse_allow(text: str) -> tuple[AllowRule, ...]:
    """``HUB_EGRESS_ALLOW``: CIDRs, IPs and hosts, comma-separated, each optionally with ``:port``.

    Raises ``ValueError`` naming the entry that is none of these.
    """
    return tuple(_allow_rule(entry.strip()) for entry in text.split(",") if entry.strip())


def _allow_rule(entry: str) -> AllowRule:
    target, port = entry, None
    if entry.startswith("["):
        target, _, rest = entry[1:].partition("]")
        port = _port(entry, rest.removeprefix(":")) if rest else None
    elif entry.count(":") == 1:
        target, _, raw_port = entry.partition(":")
        port = _port(entry, raw_port)
    try:
        return AllowRule(network=ipaddress.ip_network(target, strict=False), port=port)
    except ValueError:
        pass
    host = target.lower()
    if not _HOST_NAME.match(host) or literal_address(host) is not None:
        raise ValueError(f"{entry!r} is not a CIDR, an IP address or a host name (with an optional :port)")
    return AllowRule(host=host.rstrip("."), port=port)


def _port(entry: str, text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{entry!r} has a port that is not a number from 1 to 65535")
    return int(text)


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """The guard's one decision: which (host, address, port) a connection may go to."""

    allow: tuple[AllowRule, ...] = ()

    def allowed(self, host: str, address: IPAddress | None, port: int) -> bool:
        return any(rule.allows(host, address, port) for rule in self.allow)

    def check(self, host: str, address: IPAddress, port: int) -> None:
        """Raises ``EgressRefused`` unless ``address`` (what ``host`` resolved to) may be reached on ``port``."""
        rule = refusal(address)
        if rule is None or self.allowed(host, address, port):
            return
        named = host if literal_address(host) == address else f"{host} ({address})"
        raise EgressRefused(
            f"{named} port {port} is refused by the egress guard: {address} is a {rule} address. "
            f"An operator can allow it with {ALLOW_SETTING} (for example {ALLOW_SETTING}={_example(address, port)})"
        )

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address ``host`` stands for, each checked; raises ``EgressRefused`` if any is refused."""
        if self.allowed(host, None, port):
            return await _resolve(host, port)
        literal = literal_address(host)
        addresses = [literal] if literal is not None else await _resolve(host, port)
        for address in addresses:
            self.check(host, address, port)
        return addresses

    async def check_url(self, url: str) -> None:
        """Resolves and checks a URL's host now (a submission); connections are checked again when made."""
        parts = httpx.URL(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            await self.resolve(parts.host, port)
        except OSError:
            return  # a name that does not resolve yet cannot reach anything; the delivery checks it again


def _example(address: IPAddress, port: int) -> str:
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"


async def _resolve(host: str, port: int) -> list[IPAddress]:
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise OSError(f"{host} resolves to no address")
    return found


def trusted_rules(urls: Iterable[str | None]) -> tuple[AllowRule, ...]:
    """Allow rules for the operator's own base URLs (settings), which the guard must not stand in front of."""
    rules = []
    for url in urls:
        if not url:
            continue
        parts = urlsplit(url)
        if parts.hostname:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            literal = literal_address(parts.hostname)
            if literal is None:
                rules.append(AllowRule(host=parts.hostname.rstrip("."), port=port))
            else:
                rules.append(AllowRule(network=ipaddress.ip_network(literal), port=port))
    return tuple(rules)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy allows, and to exactly those."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self._policy.resolve(host, port)
        except OSError as error:
            raise httpcore.ConnectError(f"{host} does not resolve: {error}") from None
        return await self._inner.connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EgressRefused("Unix sockets are refused by the egress guard")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool built on the guarded backend; no proxies, no Unix sockets."""

    def __init__(self, policy: EgressPolicy, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(policy),
        )


ACCEPT_ENCODING = "gzip, deflate"
"""The encodings guarded clients ask for: the ones ``handlers.bodies`` decompresses within its cap."""


def guarded_client(policy: EgressPolicy, *, timeout: float, follow_redirects: bool = True) -> httpx.AsyncClient:
    """An httpx client whose every connection, redirects included, passes the egress guard."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    return httpx.AsyncClient(
        transport=_GuardedTransport(policy, limits),
        timeout=timeout,
        follow_redirects=follow_redirects,
        trust_env=False,
        headers={"accept-encoding": ACCEPT_ENCODING},
    )
