"""The reference relay of bench/relay_streams.py: bare `websockets` (asyncio) on uvloop, no
compression, no authentication. Two clients of the same path /pair/<id> are paired and each
message of one is sent to the other, as relaydesk's relay does. `--tls CERT KEY` serves TLS.

    .venv/bin/python bench/relay_reference.py --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ssl
from typing import Any

import uvloop
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

_waiting: dict[str, tuple[ServerConnection, asyncio.Future[None]]] = {}


async def _copy(source: ServerConnection, target: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for message in source:
            await target.send(message)


async def handler(ws: ServerConnection) -> None:
    key = ws.request.path if ws.request is not None else ""
    first = _waiting.pop(key, None)
    if first is None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        _waiting[key] = (ws, done)
        with contextlib.suppress(ConnectionClosed):
            await done
        return
    other, done = first
    tasks = [asyncio.create_task(_copy(ws, other)), asyncio.create_task(_copy(other, ws))]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    await other.close()
    await ws.close()
    done.set_result(None)


async def main(port: int, tls: list[str] | None) -> None:
    context: Any = None
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls[0], tls[1])
    async with serve(
        handler, "127.0.0.1", port, compression=None, max_size=16 * 1024 * 1024, ssl=context
    ):
        print("reference relay ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()
    uvloop.run(main(args.port, args.tls))
