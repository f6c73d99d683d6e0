"""A tiny TCP-to-WebSocket bridge: lets a standard VNC client (which speaks TCP) use a tunnel of
the relay, standing where noVNC stands in the browser."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import websockets
from websockets.typing import Subprotocol

from relaydesk.protocol import bearer
from tests.fixtures.common import free_port


class TunnelBridge:
    """Accepts one TCP client and joins it to a tunnel WebSocket, both ways."""

    def __init__(self, ws_url: str, token: str) -> None:
        self.ws_url, self.token = ws_url, token
        self.port = free_port()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self.thread.start()
        self.ready.wait(10)

    async def _serve(self) -> None:
        done = asyncio.Event()

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            async with websockets.connect(
                self.ws_url,
                subprotocols=[Subprotocol(p) for p in bearer.offered(self.token, "binary")],
                max_size=None,
            ) as ws:

                async def up() -> None:
                    while data := await reader.read(65536):
                        await ws.send(data)

                async def down() -> None:
                    with contextlib.suppress(websockets.ConnectionClosed):
                        async for message in ws:
                            writer.write(
                                message if isinstance(message, bytes) else message.encode()
                            )
                            await writer.drain()

                await asyncio.wait(
                    [asyncio.create_task(up()), asyncio.create_task(down())],
                    return_when=asyncio.FIRST_COMPLETED,
                )
            writer.close()
            done.set()

        server = await asyncio.start_server(on_client, "127.0.0.1", self.port)
        self.ready.set()
        async with server:
            await asyncio.wait_for(done.wait(), 120)
