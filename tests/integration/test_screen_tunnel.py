"""The screen through the whole product: real X display, real agent, real server and relay, and
a standard VNC client (vncdotool) on the technician's end of the tunnel. A tiny TCP-to-WebSocket
bridge stands where noVNC stands in the browser."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.fixtures.agents import AGENT
from tests.fixtures.technician import Technician, next_event
from tests.fixtures.tunnel_bridge import TunnelBridge
from tests.fixtures.xvfb import x_screenshot


@pytest.fixture
def desktop(xvfb_display: Any) -> Iterator[Any]:
    window = subprocess.Popen(
        ["xmessage", "-geometry", "+40+40", "-bg", "red", "relaydesk screen test"],
        env=xvfb_display.env,
    )
    time.sleep(0.5)
    try:
        yield xvfb_display
    finally:
        window.kill()


def test_technician_sees_the_customers_screen_through_the_relay(
    relaydesk_server: Any, desktop: Any, tmp_path: Path
) -> None:
    technician = Technician(relaydesk_server).sign_in_first_time()
    key = technician.new_key()
    customer = {
        "x-customer-token": httpx.post(
            f"{relaydesk_server.url}/api/v1/portal/keys", json={"key": key}
        ).json()["customer_token"]
    }
    agent = subprocess.Popen(
        [AGENT, "--server", relaydesk_server.url, "--key", key],
        env=desktop.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        sid = technician.wait_for_waiting_session()["id"]
        technician.post(f"/api/v1/sessions/{sid}/accept")
        with technician.console() as console:
            # The customer's answer is pushed to the console: no polling needed.
            technician.post(f"/api/v1/sessions/{sid}/screen/request", json={"mode": "view"})
            asked = next_event(console, "session.screen")
            assert (asked["session_id"], asked["state"], asked["requested"]) == (
                sid,
                "requested",
                "view",
            )
            httpx.post(
                f"{relaydesk_server.url}/api/v1/portal/session/screen/answer",
                json={"allow": True},
                headers=customer,
            )
            granted = next_event(console, "session.screen")
            assert (granted["session_id"], granted["state"], granted["requested"]) == (
                sid,
                "view",
                "",
            )
        tunnel = technician.post(f"/api/v1/sessions/{sid}/screen/tunnel").json()
        bridge = TunnelBridge(
            relaydesk_server.url.replace("http://", "ws://") + tunnel["path"], tunnel["token"]
        )

        from vncdotool import api

        client = api.connect(f"127.0.0.1::{bridge.port}", password=None, timeout=30)
        try:
            shot = tmp_path / "through-relay.png"
            client.captureScreen(str(shot))
        finally:
            client.disconnect()
            api.shutdown()
        seen = np.asarray(Image.open(shot).convert("RGB"))
        truth = x_screenshot(desktop.display)
        assert seen.shape == truth.shape
        assert np.array_equal(seen, truth)
        technician.post(f"/api/v1/sessions/{sid}/end")
        output, _ = agent.communicate(timeout=30)
        assert agent.returncode == 0, output
        assert "Tool opened: screen." in output
    finally:
        agent.kill()
