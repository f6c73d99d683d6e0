"""The client's address behind reverse proxies (issue 11, defect 4): the right-most
X-Forwarded-For hop that is not a trusted proxy, and only when the peer itself is trusted."""

from __future__ import annotations

import pytest

from relaydesk.server.client_address import TrustedProxies
from relaydesk.server.config import Settings

PROXIES = TrustedProxies.of(["10.0.0.0/8", "192.0.2.1", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # No proxy configured or an untrusted peer: the header is the client's own writing.
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),
        ("203.0.113.9", None, "203.0.113.9"),
        # The proxy appended what it saw; whatever the client wrote further left is ignored.
        ("10.1.1.1", "1.2.3.4, 198.51.100.7", "198.51.100.7"),
        ("10.1.1.1", "spoofed, 1.2.3.4,198.51.100.7", "198.51.100.7"),
        # Two of our proxies in a row: skip both.
        ("192.0.2.1", "1.2.3.4, 198.51.100.7, 10.9.9.9", "198.51.100.7"),
        ("::1", "2001:db8::5", "2001:db8::5"),
        # Only proxies: the left-most is the nearest thing to a client we know.
        ("10.1.1.1", "10.2.2.2, 10.3.3.3", "10.2.2.2"),
        # Garbage where a proxy would have written an address: believe nothing of the header.
        ("10.1.1.1", "198.51.100.7, not-an-address", "10.1.1.1"),
        ("10.1.1.1", "", "10.1.1.1"),
    ],
)
def test_client_address(peer: str, forwarded: str | None, client: str) -> None:
    assert PROXIES.client_address(peer, forwarded) == client


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert TrustedProxies().client_address("127.0.0.1", "198.51.100.7") == "127.0.0.1"


def test_the_setting_takes_a_comma_separated_list_and_names_a_bad_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RELAYDESK_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    assert Settings().trusted_proxies == ["10.0.0.0/8", "192.0.2.1"]
    monkeypatch.setenv("RELAYDESK_TRUSTED_PROXIES", "10.0.0.0/8, proxy.example")
    with pytest.raises(ValueError, match="'proxy.example' is not an IP address or CIDR range"):
        Settings()
    monkeypatch.delenv("RELAYDESK_TRUSTED_PROXIES")
    assert Settings().trusted_proxies == []
