"""The egress guard's rules as pure functions: every range, every spelling, and HUB_EGRESS_ALLOW's grammar.

Nothing here opens a connection: these machines must never send traffic to private or link-local ranges.
"""

from __future__ import annotations

import ipaddress

import pytest

from handlers.egress import (
    AllowRule,
    EgressPolicy,
    EgressRefused,
    literal_address,
    parse_allow,
    refusal,
    trusted_rules,
    url_problem,
)

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("10.0.0.1", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "shared (CGNAT)"),
    ("100.127.255.255", "shared (CGNAT)"),
    ("fc00::1", "private (ULA)"),
    ("fdff:ffff::1", "private (ULA)"),
    ("169.254.169.254", "cloud metadata"),
    ("fd00:ec2::254", "cloud metadata"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("0.1.2.3", "reserved"),
    ("192.0.0.8", "reserved"),
    ("192.0.2.1", "reserved"),
    ("198.18.0.1", "reserved"),
    ("198.51.100.1", "reserved"),
    ("203.0.113.1", "reserved"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("2001:db8::1", "reserved"),
    ("100::1", "reserved"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("::127.0.0.1", "IPv4-compatible IPv6"),
    ("64:ff9b::7f00:1", "loopback"),
    ("64:ff9b::a00:1", "private"),
    ("2002:7f00:1::", "loopback"),
    ("2002:a9fe:a9fe::", "cloud metadata"),
]


@pytest.mark.parametrize(("address", "rule"), REFUSED)
def test_an_address_outside_the_public_internet_is_refused_by_its_rule(address: str, rule: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == rule


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "100.63.255.255", "172.32.0.1", "2606:4700::1111"])
def test_a_globally_routable_address_is_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0177.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("025177524776", "169.254.169.254"),
        ("127.0.0.1.", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("[::FFFF:127.0.0.1]", "::ffff:127.0.0.1"),
    ],
)
def test_every_spelling_of_an_ip_literal_names_its_address(host: str, address: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["localhost", "example.com", "1e100.net", "127.0.0.1.example", "256.1.1.1", "08.1"])
def test_a_host_name_or_an_impossible_number_is_not_a_literal(host: str) -> None:
    assert literal_address(host) is None


def test_the_allow_list_takes_ips_cidrs_and_hosts_each_with_an_optional_port() -> None:
    rules = parse_allow("127.0.0.1:9000, 10.0.0.0/8,internal.example:443,[::1]:8080,fd00::/8,Files.Example")
    assert rules == (
        AllowRule(network=ipaddress.ip_network("127.0.0.1/32"), port=9000),
        AllowRule(network=ipaddress.ip_network("10.0.0.0/8")),
        AllowRule(host="internal.example", port=443),
        AllowRule(network=ipaddress.ip_network("::1/128"), port=8080),
        AllowRule(network=ipaddress.ip_network("fd00::/8")),
        AllowRule(host="files.example"),
    )


@pytest.mark.parametrize("text", ["127.0.0.1:99999", "10.0.0.0/8:x", "a b", "http://x", "[::1]:0"])
def test_an_allow_entry_that_is_no_address_host_or_port_is_an_error_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="is not|port"):
        parse_allow(text)


LOOPBACK = ipaddress.ip_address("127.0.0.1")


def test_an_allowed_address_passes_only_on_its_port() -> None:
    policy = EgressPolicy(parse_allow("127.0.0.1:9000"))
    policy.check("127.0.0.1", LOOPBACK, 9000)
    with pytest.raises(EgressRefused, match="HUB_EGRESS_ALLOW"):
        policy.check("127.0.0.1", LOOPBACK, 9001)


def test_a_cidr_allows_the_ipv4_mapped_spelling_of_its_addresses() -> None:
    EgressPolicy(parse_allow("127.0.0.0/8")).check("::ffff:127.0.0.1", ipaddress.ip_address("::ffff:127.0.0.1"), 80)


def test_a_refusal_names_the_rule_the_address_and_the_setting() -> None:
    with pytest.raises(EgressRefused) as refused:
        EgressPolicy().check("localhost", LOOPBACK, 8000)
    assert str(refused.value) == (
        "localhost (127.0.0.1) port 8000 is refused by the egress guard: 127.0.0.1 is a loopback address. "
        "An operator can allow it with HUB_EGRESS_ALLOW (for example HUB_EGRESS_ALLOW=127.0.0.1:8000)"
    )


async def test_a_literal_in_any_spelling_is_refused_without_a_lookup() -> None:
    for host in ("2130706433", "0x7f.1", "::ffff:127.0.0.1", "0xa9fea9fe"):
        with pytest.raises(EgressRefused):
            await EgressPolicy().resolve(host, 80)


async def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    with pytest.raises(EgressRefused, match="localhost .* loopback"):
        await EgressPolicy().resolve("localhost", 80)


async def test_a_host_named_in_the_allow_list_is_not_checked_further() -> None:
    assert LOOPBACK in await EgressPolicy(parse_allow("localhost:8000")).resolve("localhost", 8000)


def test_the_operators_base_urls_become_allow_rules_on_their_ports() -> None:
    rules = trusted_rules(["http://127.0.0.1:4010/v1", "https://api.esios.ree.es", None])
    assert rules == (
        AllowRule(network=ipaddress.ip_network("127.0.0.1/32"), port=4010),
        AllowRule(host="api.esios.ree.es", port=443),
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://[::1/", "must be a valid"),
        ("ftp://example.com/a", "with a host"),
        ("http:///path", "with a host"),
        ("https://example.com:99999/", "port from 1 to 65535"),
    ],
)
def test_a_url_httpx_cannot_send_to_has_a_problem(url: str, problem: str) -> None:
    assert problem in (url_problem(url) or "")


def test_an_http_url_with_a_host_has_no_problem() -> None:
    assert url_problem("https://example.com:8443/a?b=c") is None
