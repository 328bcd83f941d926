"""The client address: X-Forwarded-For is believed only as far as trusted proxies wrote it."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from messages_app.addresses import client_address, client_ip


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.fixture
def behind_proxies(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8::/32"]
    return settings


def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []

    assert client_address(request_from("198.51.100.7", "192.0.2.1")) == "198.51.100.7"


def test_a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_forwards(behind_proxies):
    assert client_address(request_from("198.51.100.7", "192.0.2.1")) == "198.51.100.7"


def test_through_a_trusted_proxy_the_entry_it_appended_is_the_client(behind_proxies):
    assert client_address(request_from("10.0.0.5", "192.0.2.1")) == "192.0.2.1"


def test_entries_a_client_sent_before_the_proxies_are_not_believed(behind_proxies):
    spoofed_then_real = "203.0.113.66, 192.0.2.1, 10.1.2.3"

    assert client_address(request_from("10.0.0.5", spoofed_then_real)) == "192.0.2.1"


def test_when_every_hop_is_trusted_the_first_one_is_the_client(behind_proxies):
    assert client_address(request_from("10.0.0.5", "10.9.9.9, 10.1.2.3")) == "10.9.9.9"


def test_an_unreadable_hop_stops_the_walk_at_the_last_trusted_address(behind_proxies):
    assert client_address(request_from("10.0.0.5", "192.0.2.1, not-an-address, 10.1.2.3")) == "10.1.2.3"


@pytest.mark.parametrize(
    ("forwarded", "client"),
    [("192.0.2.1:4711", "192.0.2.1"), ("[2001:db9::1]:443", "2001:db9::1"), ("::ffff:192.0.2.1", "192.0.2.1")],
)
def test_ports_brackets_and_mapped_addresses_are_read(behind_proxies, forwarded, client):
    assert client_address(request_from("2001:db8::5", forwarded)) == client


def test_no_remote_address_is_unknown(settings):
    assert client_address(RequestFactory().get("/", REMOTE_ADDR="")) == "unknown"


def test_an_address_column_gets_none_for_a_request_without_a_peer_address(settings):
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="")) is None
    assert client_ip(request_from("192.0.2.1")) == "192.0.2.1"


def test_a_trusted_proxy_that_is_not_a_network_is_a_configuration_error(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "proxy.example"]

    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        client_address(request_from("10.0.0.5", "192.0.2.1"))


@pytest.fixture
def two_hops(settings):
    settings.TRUSTED_PROXIES = []
    settings.TRUSTED_PROXY_HOPS = 2
    return settings


def test_with_a_hop_count_the_client_is_that_many_entries_from_the_right(two_hops):
    spoofed_client_outer_proxy = "203.0.113.66, 192.0.2.1, 172.16.0.9"

    assert client_address(request_from("172.16.0.10", spoofed_client_outer_proxy)) == "192.0.2.1"


def test_with_a_hop_count_too_few_entries_leave_the_peer_as_the_client(two_hops):
    assert client_address(request_from("198.51.100.7", "192.0.2.1")) == "198.51.100.7"


def test_with_a_hop_count_an_unreadable_entry_leaves_the_peer_as_the_client(two_hops):
    assert client_address(request_from("172.16.0.10", "not-an-address, 172.16.0.9")) == "172.16.0.10"


def test_trusted_networks_take_precedence_over_a_hop_count(behind_proxies):
    behind_proxies.TRUSTED_PROXY_HOPS = 2

    assert client_address(request_from("198.51.100.7", "192.0.2.1, 10.1.2.3")) == "198.51.100.7"
