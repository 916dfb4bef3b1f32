"""Which receivers webhooks may reach: no private, loopback, link-local or metadata address, however the
URL spells it."""

from __future__ import annotations

from typing import Any

import pytest

from dumont_core.platform.errors import ValidationFailed
from dumont_core.webhooks.addresses import AddressPolicy, RefusedAddress, check
from tests.fakes.webhooks import resolving

AWS = AddressPolicy()
LOCAL = AddressPolicy(allow_http=True, allow_loopback=True)
RESOLVER: Any = resolving(hooks_example_com="93.184.215.14", rebound_example_com="169.254.169.254")


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hook",
        "https://172.16.5.4/hook",
        "https://192.168.1.1/hook",
        "https://100.64.0.1/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/latest",
        "https://[::ffff:10.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://rebound.example.com/hook",
    ],
)
def test_private_loopback_link_local_and_metadata_addresses_are_refused(url: str) -> None:
    with pytest.raises(RefusedAddress) as refused:
        check(url, AWS, RESOLVER)
    assert refused.value.details["fields"][0]["field"] == "url"


def test_the_local_stack_allows_loopback_but_nothing_else_private() -> None:
    assert check("http://127.0.0.1:9000/hook", LOCAL, RESOLVER) is not None
    assert check("http://[::1]:9000/hook", LOCAL, RESOLVER) is not None
    for url in ("http://10.0.0.1/hook", "http://169.254.169.254/", "http://rebound.example.com/"):
        with pytest.raises(RefusedAddress):
            check(url, LOCAL, RESOLVER)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/hook", "https://"),
        ("ftp://hooks.example.com/hook", "https://"),
        ("https:///hook", "no host"),
        ("https://user:pass@hooks.example.com/hook", "credentials"),
        ("https://hooks.example.com:99999/hook", "not a URL"),
    ],
)
def test_urls_that_cannot_receive_are_refused_with_the_reason(url: str, why: str) -> None:
    with pytest.raises(ValidationFailed, match=why):
        check(url, AWS, RESOLVER)


def test_a_public_name_is_sent_to_the_address_it_resolved_to_under_its_own_name() -> None:
    target = check("https://hooks.example.com/dumont?x=1", AWS, RESOLVER)
    assert target is not None
    assert target.connect_url == "https://93.184.215.14:443/dumont?x=1"
    assert target.host_header == "hooks.example.com"
    assert check("https://unknown.example.com/", AWS, RESOLVER) is None, "resolved again when sending"


def test_a_url_httpx_cannot_send_is_a_failed_attempt_not_an_error() -> None:
    from dumont_core.webhooks.addresses import Target, parse
    from dumont_core.webhooks.sender import HttpPoster

    parts, host, port = parse("http://127.0.0.1:9/\x00", LOCAL)
    attempt = HttpPoster(1.0).post(Target(url=parts, host=host, port=port, address="127.0.0.1"), b"{}", {})
    assert attempt.response_code is None and attempt.error
