"""A tunnel's id names the node that issued it, in the shape the protocol accepts."""

from __future__ import annotations

import pytest

from relaydesk.protocol.messages import TunnelOpen
from relaydesk.server.domain.tunnels import MemoryTunnels, owner_of


def _issue(tunnels: MemoryTunnels) -> str:
    return tunnels.create(1, 1, "shell", 1, input_allowed=True).tunnel.id


def test_a_node_names_itself_in_the_ids_of_its_tunnels() -> None:
    ids = {_issue(MemoryTunnels("n2")) for _ in range(200)}
    assert len(ids) == 200
    for tunnel_id in ids:
        assert tunnel_id.startswith("n2_")
        assert owner_of(tunnel_id) == "n2"
        TunnelOpen(type="tunnel_open", tunnel_id=tunnel_id, kind="shell", token="dG9rZW4")


def test_one_process_issues_ids_without_a_node() -> None:
    tunnel_id = _issue(MemoryTunnels())
    assert owner_of(tunnel_id) is None
    assert tunnel_id.isalnum()


@pytest.mark.parametrize("node_id", ["desk.example.com-12-ab", "x" * 41, "n_1"])
def test_a_node_id_that_cannot_name_tunnels_is_not_used(
    node_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    tunnel_id = _issue(MemoryTunnels(node_id))
    assert owner_of(tunnel_id) is None
    assert "RELAYDESK_NODE_ID" in caplog.text
