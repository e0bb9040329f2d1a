"""Where the webhook sender connects: the first public address of the receiver's host, with the
request still addressed (Host header, TLS name) to the host itself."""

from __future__ import annotations

import socket

import pytest

from sequoia_media import webhook_sender
from sequoia_media.webhook_sender import AddressRefused, pinned


def resolving_to(monkeypatch, *addresses: str) -> None:
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses]
    monkeypatch.setattr(webhook_sender.socket, "getaddrinfo", getaddrinfo)


def test_a_host_is_pinned_to_its_public_address_and_keeps_its_name(monkeypatch):
    resolving_to(monkeypatch, "10.1.2.3", "93.184.216.34")
    url, headers, extensions = pinned("https://hooks.example.com:8443/in?x=1", allow_private=False)
    assert str(url) == "https://93.184.216.34:8443/in?x=1"
    assert headers == {"host": "hooks.example.com:8443"}
    assert extensions == {"sni_hostname": "hooks.example.com"}


def test_plain_http_needs_no_tls_name(monkeypatch):
    resolving_to(monkeypatch, "2606:2800:220:1::1")
    url, headers, extensions = pinned("http://hooks.example.com/in", allow_private=False)
    assert str(url) == "http://[2606:2800:220:1::1]/in" and headers == {"host": "hooks.example.com"}
    assert extensions == {}


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.8", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "0.0.0.0"])
def test_a_host_with_only_internal_addresses_is_refused(monkeypatch, address):
    resolving_to(monkeypatch, address)
    with pytest.raises(AddressRefused):
        pinned("https://rebinding.example.com/in", allow_private=False)


def test_allowing_private_addresses_leaves_the_url_alone(monkeypatch):
    resolving_to(monkeypatch, "127.0.0.1")
    url, headers, extensions = pinned("http://localhost:9000/in", allow_private=True)
    assert (str(url), headers, extensions) == ("http://localhost:9000/in", {}, {})
