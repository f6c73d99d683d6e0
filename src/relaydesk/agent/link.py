"""The control channel's transport: connect, run the protocol state machine, reconnect with
exponential backoff and jitter after the network or the server goes away (REL-1)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse, urlunparse

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from relaydesk.agent import sysinfo
from relaydesk.agent.desktop.channel import CustomerChannel, LinkDown, Told
from relaydesk.agent.jumps import JumpDesk
from relaydesk.agent.modes import (
    EXIT_OK,
    EXIT_TLS_MISMATCH,
    EXIT_UNREACHABLE,
    AgentMode,
    AttendedMode,
    Outcome,
)
from relaydesk.agent.server_tls import ServerTls, TlsMismatch
from relaydesk.agent.tools import files_handler, tool_handlers
from relaydesk.agent.tunnels import TunnelManager
from relaydesk.protocol import control
from relaydesk.protocol.keepalive import (
    HANDSHAKE_SILENCE_SECONDS,
    SILENT_HEARTBEATS,
    watch_by_kernel,
)
from relaydesk.protocol.messages import MAX_FRAME_BYTES, JumpAnswer, JumpEnd

Status = Callable[[str], None]
# The control channel's keepalive is the server's JSON ping (no WebSocket pings) and the kernel's
# TCP keepalive (protocol/keepalive.py): a server silent for SILENT_HEARTBEATS heartbeats (the
# welcome says how long one is) is taken for gone, and the agent reconnects. Before the welcome,
# the handshake's answers must come within HANDSHAKE_SILENCE_SECONDS.
# How long the connection and the WebSocket upgrade may take: a server busy with 10,000 agents
# coming back after its restart answers late (the first upgrade 36 s after it was up, measured
# on a loaded machine), and an agent that gives up throws the server's work on its connection
# away and queues again at the end (issue 13). A server that is down refuses at once.
OPEN_SECONDS = 60.0


class ServerSilent(Exception):
    """Nothing came from the server for longer than its heartbeat allows."""


@dataclass(frozen=True)
class Backoff:
    first: float = 0.5
    factor: float = 2.0
    ceiling: float = 30.0
    # After losing a connection that was up, the first try waits anywhere in this window (full
    # jitter): every agent of a server that restarts loses its link at the same moment, and
    # trying again within the same half second they would all knock at once (issue 13).
    spread: float = 5.0

    def delay(self, attempt: int) -> float:
        """Jitter between half the exponential bound and the bound, so that many agents failing
        together do not try again together."""
        bound = min(self.ceiling, self.first * self.factor**attempt)
        return random.uniform(bound / 2, bound)

    def after_loss(self) -> float:
        """The first wait after a connection that was up is lost: anywhere in the spread."""
        return random.uniform(0, self.spread)


def control_url(server: str) -> str:
    parsed = urlparse(server)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parsed.scheme)
    if scheme is None or not parsed.netloc:
        raise ValueError(f"'{server}' is not a server address (expected https://host[:port])")
    return urlunparse((scheme, parsed.netloc, parsed.path.rstrip("/") + "/agent/ws", "", "", ""))


async def _converse(
    ws: ClientConnection,
    mode: AgentMode,
    status: Status,
    tunnels: TunnelManager,
    customer: CustomerChannel | None = None,
    jumps: JumpDesk | None = None,
) -> Outcome | None:
    """One connection's life. An Outcome ends the agent; None means reconnect."""
    hello = mode.hello()
    resuming = hello.credential.kind == "resume"
    connection = control.AgentConnection(hello, mode.key)
    connection.start()

    async def flush() -> None:
        for frame in connection.data_to_send():
            await ws.send(frame)

    watch_by_kernel(ws.transport.get_extra_info("socket"))
    await flush()

    async def send_reports() -> None:
        """Completed transfers and changes go to the server; unsent ones wait for the next
        connection."""
        while True:
            await tunnels.reports_waiting.wait()
            reports = tunnels.take_reports()
            while reports:
                try:
                    connection.send_file_report(reports[0])
                    await flush()
                except BaseException:
                    tunnels.put_back(reports)
                    raise
                reports.pop(0)

    async def send_customer() -> None:
        """What the customer does in his window goes out once the handshake is over."""
        assert customer is not None
        while True:
            said = await customer.next_said()
            if not connection.established:
                customer.put_back(said)
                await asyncio.sleep(0.2)
                continue
            try:
                connection.send_customer(said)
                await flush()
            except BaseException:
                customer.put_back(said)
                raise

    async def answer_jump(answer: JumpAnswer) -> None:
        """An installed agent's answer to a jump; lost with the connection (the technician sees
        the jump still asking and ends it)."""
        try:
            connection.send_jump_answer(answer)
            await flush()
        except ConnectionClosed:
            status("The connection closed before the jump's answer went out.")

    from relaydesk.agent.ad_hoc_host import AdHocMode  # (it imports what imports this module)

    host = mode if isinstance(mode, AdHocMode) else None

    async def send_typed() -> None:
        """The temporary host's code and "End session" go out once the handshake is over."""
        assert host is not None and host.typed is not None
        while True:
            typed = await host.typed.next_typed()
            if not connection.established:
                host.typed.put_back(typed)
                await asyncio.sleep(0.2)
                continue
            if typed.type == "adhoc_end":
                host.end_asked = True
            try:
                connection.send_ad_hoc(typed)
                await flush()
            except BaseException:
                host.typed.put_back(typed)
                raise

    conversion = mode.jump_client if isinstance(mode, AttendedMode) else None
    converting: set[asyncio.Task[None]] = set()

    async def jump_client(event: control.JumpClientCommanded) -> None:
        """Becoming an installed Jump client (agent/jump_client.py): the question goes to the
        customer's window (his answer goes out as he gives it); allowed, the installation runs
        beside the channel and its result goes out when it is done."""
        assert conversion is not None
        reply = await conversion.command(event.message, customer)
        if reply is not None:
            try:
                connection.send_jump_client(reply)
                await flush()
            except ConnectionClosed:
                status("The connection closed before the Jump client's answer went out.")

    reporter = asyncio.create_task(send_reports())
    relaying = asyncio.create_task(send_customer()) if customer else None
    if host is not None and host.typed is not None:
        relaying = asyncio.create_task(send_typed())
    silence = HANDSHAKE_SILENCE_SECONDS
    try:
        while True:
            try:
                frame = await asyncio.wait_for(ws.recv(), silence)
            except TimeoutError:
                status(f"The server has been silent for {int(silence)} seconds; reconnecting.")
                raise ServerSilent() from None
            for event in connection.receive(frame):
                if isinstance(event, control.Established):
                    silence = float(SILENT_HEARTBEATS * event.heartbeat_seconds)
                    mode.established(event.device_id, event.session_id)
                    if event.session_id is None:
                        status(f"Connected as device {event.device_id}; online, no session.")
                    elif resuming:
                        status(f"Reconnected (session {event.session_id}); the session goes on.")
                    else:
                        status(
                            f"Connected (session {event.session_id}). Waiting for the technician."
                        )
                elif isinstance(event, control.RefusedByServer):
                    return mode.refused(event.code, event.message)
                elif isinstance(event, control.SysinfoWanted):
                    if host is not None and not host.may_serve():
                        status("System information asked outside an accepted connection: no.")
                        continue
                    info = await asyncio.to_thread(sysinfo.collect)
                    connection.send_sysinfo(event.request_id, info)
                elif isinstance(event, control.TunnelRequested):
                    if host is not None and not host.may_serve():
                        status("A tunnel outside a connection the host accepted: not served.")
                        continue
                    tunnels.open(event)
                elif isinstance(event, control.AdHocCommanded) and host is not None:
                    reply = host.command(event.message)
                    if reply is not None:
                        if not reply.accepted:
                            tunnels.close_all()
                        connection.send_ad_hoc(reply)
                elif isinstance(event, control.JumpCommanded) and host is not None:
                    if isinstance(event.message, JumpEnd):
                        tunnels.close_all()
                        host.connection_over(event.message.session_id)
                elif isinstance(event, control.PeerError) and host is not None:
                    host.told(event.code, event.message)
                elif isinstance(event, control.TunnelClosing):
                    tunnels.close(event.tunnel_id)
                elif isinstance(event, control.InputPolicyChanged):
                    tunnels.input.set(event.allowed)
                elif isinstance(event, control.EndRequested):
                    tunnels.close_all()
                    cleaned, outcome = mode.end(event.reason)
                    connection.send_ended(cleaned)
                    await flush()
                    return outcome
                elif isinstance(event, control.UninstallRequested):
                    tunnels.close_all()
                    outcome = mode.uninstall(event.reason)
                    if mode.name == "unattended" and outcome.exit_code == EXIT_OK:
                        # Done: the server audits the uninstall's completion (device.uninstalled).
                        connection.send_uninstalled("deleted")
                        try:
                            await flush()
                        except ConnectionClosed:
                            status("The connection closed before the server heard it was done.")
                    return outcome
                elif isinstance(event, control.JumpCommanded) and jumps is not None:
                    if isinstance(event.message, JumpEnd):
                        tunnels.close_all()
                    jumps.command(event.message, answer_jump)
                elif isinstance(event, control.JumpClientCommanded) and conversion:
                    task = asyncio.create_task(jump_client(event))
                    converting.add(task)
                    task.add_done_callback(converting.discard)
                elif isinstance(event, control.CustomerStateChanged):
                    if customer:
                        customer.show(event.state)
                elif isinstance(event, control.ChatArrived):
                    if customer:
                        customer.show(event.line)
                elif isinstance(event, control.PeerError) and customer:
                    customer.show(Told(event.message))
                elif isinstance(event, control.PeerError | control.BadFrame):
                    status(f"Protocol problem ({event.code}): {event.message}")
            await flush()
    except (ConnectionClosed, ServerSilent):
        pass
    finally:
        reporter.cancel()
        if relaying:
            relaying.cancel()
    if customer:
        customer.show(LinkDown())
    tunnels.close_all(link_lost=True)  # the console opens new ones once the agent is back
    return None


async def run(
    server: str,
    mode: AgentMode,
    status: Status,
    *,
    pin_sha256: str | None = None,
    give_up_after: float = 600.0,
    backoff: Backoff = Backoff(),
    customer: CustomerChannel | None = None,
) -> Outcome:
    url = control_url(server)
    if customer:
        customer.bind()
    tls = ServerTls(pin_sha256)
    handlers = tool_handlers()
    jumps = JumpDesk(status) if mode.name == "unattended" else None
    if jumps is not None:  # an installed agent shares the logged-in user's display (UNA-6)
        handlers["screen"] = jumps.serve_screen
    tunnels = TunnelManager(url, tls, handlers, status, files_handler=files_handler())
    attempt = 0
    unreachable_since: float | None = None
    lost = False
    while True:
        try:
            async with tls.open(
                url,
                compression=None,
                max_size=MAX_FRAME_BYTES,
                open_timeout=OPEN_SECONDS,
                ping_interval=None,  # the protocol's heartbeat is the keepalive
                close_timeout=5,
            ) as ws:
                attempt, unreachable_since = 0, None
                outcome = await _converse(ws, mode, status, tunnels, customer, jumps)
                if outcome is not None:
                    return outcome
                status("Connection to the server lost; reconnecting.")
                lost = True
        except TlsMismatch:
            return Outcome(
                EXIT_TLS_MISMATCH,
                "The server's TLS certificate does not match the pinned fingerprint; "
                "refusing to connect (someone may be intercepting the connection).",
            )
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError, ConnectionClosed) as error:
            unreachable_since = unreachable_since or time.monotonic()
            waited = time.monotonic() - unreachable_since
            if waited >= give_up_after:
                return Outcome(
                    EXIT_UNREACHABLE,
                    f"Could not reach the server at {server} for {int(waited)} seconds; giving up.",
                )
            status(f"Cannot reach the server ({_describe(error)}); retrying.")
        await asyncio.sleep(backoff.after_loss() if lost else backoff.delay(attempt))
        lost = False
        attempt += 1


def _describe(error: BaseException) -> str:
    if isinstance(error, websockets.exceptions.InvalidStatus):
        return f"HTTP {error.response.status_code}"
    return str(error) or type(error).__name__
