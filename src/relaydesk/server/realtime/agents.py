"""The agents' control channel, /agent/ws: moves frames between the WebSocket and the
protocol's ServerConnection, and hands every decision to domain/."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator

from fastapi import WebSocket, WebSocketDisconnect
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Message

from relaydesk.protocol import control
from relaydesk.protocol.events import (
    BrokerEvent,
    CloseTunnels,
    CustomerChat,
    CustomerScreen,
    SessionState,
)
from relaydesk.protocol.keepalive import HANDSHAKE_SILENCE_SECONDS, SILENT_HEARTBEATS
from relaydesk.protocol.messages import (
    HANDSHAKE_FRAME_BYTES,
    AdHocCode,
    AdHocConnect,
    AdHocConnectAnswer,
    AdHocCredential,
    AdHocStatus,
    ChatSend,
    ConsentAnswer,
    DeviceCredential,
    EndSession,
    Hello,
    InputPolicy,
    InstallerCredential,
    JumpClientAnswer,
    JumpClientAsk,
    JumpClientInstall,
    JumpEnd,
    JumpStart,
    ResumeCredential,
    SessionKeyCredential,
    SysinfoRequest,
    TunnelOpen,
    Uninstall,
)
from relaydesk.server.api.deps import client_ip
from relaydesk.server.db.models import SessionKey, SupportSession
from relaydesk.server.domain import (
    ad_hoc_sessions,
    customer_desktop,
    device_list,
    files,
    installers,
    jump_client_install,
    jumps,
    portal,
    session_keys,
    support_sessions,
)
from relaydesk.server.domain.errors import DomainError, RateLimited
from relaydesk.server.domain.notifications import FellBehind, device_topic, session_topic
from relaydesk.server.domain.session_keys import KeyRefusal
from relaydesk.server.realtime import limits
from relaydesk.server.runtime import Runtime

log = logging.getLogger(__name__)
# The channel's keepalive (issue 13, protocol/keepalive.py): the protocol's JSON ping, sent by the
# server after the welcome every settings.agent_heartbeat_seconds (by the process's one
# server/agent_heartbeat task) and answered by the agent, and the kernel's TCP keepalive on the
# socket; uvicorn's and the agent's WebSocket pings are off for it. The server drops an agent
# silent for three heartbeats (before the welcome: for HANDSHAKE_SILENCE_SECONDS); the agent
# (agent/link.py) drops a server silent for as long.
# How long a link that told its installed agent to uninstall waits for the agent's `uninstalled`
# (it removes its service and files first) before it closes.
UNINSTALL_REPORT_SECONDS = 10.0
AGENT_CHANNEL = "/agent/ws"


class AgentLink:
    def __init__(self, runtime: Runtime, websocket: WebSocket, ip: str) -> None:
        self.runtime = runtime
        self.websocket = websocket
        self.ip = ip
        self.connection = control.ServerConnection()
        self.key: SessionKey | None = None
        # The device this link speaks for (presence and commands are the device's) and the
        # session it serves now.
        self.device_id: int | None = None
        self.session_id: int | None = None
        # An installed agent: the installer it enrols with (first time) or, coming back, its
        # device (self.device_id); it has no session and stays connected (issue 13, UNA-2).
        self.installer_id: int | None = None
        self.installed = False
        # A deleted installed device: told to uninstall itself once it proves its key.
        self.uninstall_due = False
        # A temporary host (ad hoc support): its ad hoc session; self.session_id is the
        # connection it serves now, if any.
        self.ad_hoc_id: int | None = None
        self.ended = False
        self._online = False  # counted in runtime.devices_online
        self._send_lock = asyncio.Lock()
        self._stack = contextlib.AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self._bad_frames = BadFrameLog()
        self._heartbeat_seconds = runtime.settings.agent_heartbeat_seconds
        self._silence = HANDSHAKE_SILENCE_SECONDS  # three heartbeats once welcomed
        # Once welcomed, receiving has no timer of its own (a timer per frame was most of an
        # idle link's cost): the heartbeat's timer checks when the agent was last heard from.
        self._heard_at = 0.0
        self._receiving = False
        self._runner: asyncio.Task[None] | None = None
        self._went_silent = False
        self._pinging: asyncio.Task[None] | None = None  # the heartbeat's ping going out

    async def flush(self) -> None:
        async with self._send_lock:
            for frame in self.connection.data_to_send():
                await self.websocket.send_text(frame)

    async def _receive(self) -> Message:
        if not self.connection.established:  # the handshake's answers, within its limit
            async with asyncio.timeout(self._silence):  # (wait_for would add a task a frame)
                message = await self.websocket.receive()
        else:
            self._receiving = True
            try:
                message = await self.websocket.receive()
            finally:
                self._receiving = False
        self._heard_at = asyncio.get_running_loop().time()
        return message

    async def run(self) -> None:
        self._runner = asyncio.current_task()
        limit = HANDSHAKE_FRAME_BYTES  # as agent_endpoint set it
        try:
            while not self.connection.closed:
                message = await self._receive()
                if message["type"] == "websocket.disconnect":
                    self._closed_by_peer(message.get("code"))
                    return
                # Binary frames are the peer's fault, answered by the protocol like any other.
                frame: str | bytes = (
                    message["text"]
                    if message.get("text") is not None
                    else message.get("bytes", b"")
                )
                for event in self.connection.receive(frame):
                    await self.handle(event)
                # Before anything goes out: the limit for the next frame is the state's (the
                # handshake's few KiB until the welcome, then MAX_FRAME_BYTES).
                if self.connection.max_frame_bytes != limit:
                    limit = self.connection.max_frame_bytes
                    limits.limit_message_size(self.websocket, limit)
                if self.connection.has_data_to_send:  # an idle link's pong needs no answer
                    await self.flush()
            await self.websocket.close(code=1000)
        except (WebSocketDisconnect, TimeoutError, RuntimeError):
            pass
        except asyncio.CancelledError:
            if not self._went_silent or self._runner is None:
                raise
            self._runner.uncancel()  # dropped by its own heartbeat (below), not by the server
            log.info("agent channel from %s: silent for %.0f s, dropped", self.ip, self._silence)
        finally:
            self.runtime.agent_heartbeat.forget(self)
            self._bad_frames.summarise(self.ip)
            for task in self._tasks:
                task.cancel()
            if self._pinging is not None:
                self._pinging.cancel()
            await self._stack.aclose()
            if self._online and self.device_id is not None:
                await self._offline_unless_back(self.device_id)
            if self._online and self.installed and self.device_id is not None:
                log.debug("installed device %d: link from %s ended", self.device_id, self.ip)
            elif (
                self._online
                and self.device_id is not None
                and self.session_id is not None
                and self.ad_hoc_id is None
            ):
                # Only a welcomed link says the agent left (not a failed attempt to resume), and
                # not when the agent came back on another link before this one timed out.
                back = self.runtime.devices_online.is_online(self.device_id)
                log.info(
                    "agent of device %d (session %d): link from %s ended%s",
                    self.device_id,
                    self.session_id,
                    self.ip,
                    " (the agent is back on another link)" if back else "",
                )
                if not self.ended and not back:
                    async with self.runtime.transaction() as db:
                        await support_sessions.agent_disconnected(db, self.session_id)

    async def _offline_unless_back(self, device_id: int) -> None:
        """This link no longer counts; the device is offline unless another link holds it (the
        device list's online since / last seen, device.online to the consoles)."""
        self.runtime.devices_online.leave(device_id)
        if self.installed:  # written with the others ending or starting now (DeviceLinks)
            self.runtime.device_links.ended(device_id)
        elif not self.runtime.devices_online.is_online(device_id):
            async with self.runtime.transaction() as db:
                await device_list.link_ended(db, device_id)

    def _closed_by_peer(self, code: int | None) -> None:
        if code == limits.MESSAGE_TOO_BIG:
            log.info(
                "agent channel from %s closed: a message over %d bytes (1009)",
                self.ip,
                self.connection.max_frame_bytes,
            )

    def _refuse(self, refusal: KeyRefusal) -> None:
        self.connection.refuse(refusal.code, refusal.message)

    async def handle(self, event: control.Event) -> None:
        if isinstance(event, control.HelloReceived):
            await self.on_hello(event)
        elif isinstance(event, control.ProofAccepted):
            await self.on_proof()
        elif isinstance(event, control.SysinfoReceived):
            async with self.runtime.transaction() as db:
                if self.device_id is not None:  # the device list keeps it as the inventory
                    await device_list.inventory_arrived(db, self.device_id, event.info)
                if self.session_id is not None and not event.request_id.startswith(
                    device_list.INVENTORY_REQUEST
                ):
                    await support_sessions.sysinfo_arrived(
                        db, self.session_id, event.request_id, event.info
                    )
        elif isinstance(event, control.FileTransferReported | control.FileChangeReported):
            session_id = self.session_id or await self._open_jump()
            if session_id is None:
                log.info("agent channel from %s: a file report with no session, dropped", self.ip)
                return
            # The tunnel may be another node's (its record is shared: shared_state/tunnels.py).
            tunnel = await self.runtime.tunnels.find(event.report.tunnel_id)
            async with self.runtime.transaction() as db:
                if isinstance(event, control.FileTransferReported):
                    await files.transfer_reported(db, session_id, tunnel, event.report)
                else:
                    await files.change_reported(db, session_id, tunnel, event.report)
        elif isinstance(event, control.AgentEnded):
            self.ended = True
            async with self.runtime.transaction() as db:
                assert self.session_id is not None
                await support_sessions.agent_cleaned_up(db, self.session_id, event.cleaned_up)
        elif isinstance(event, control.CustomerSpoke):
            await self.on_customer(event)
        elif isinstance(event, control.JumpClientReported):
            await self.on_jump_client(event)
        elif isinstance(event, control.AdHocReported):
            await self.on_ad_hoc(event)
        elif isinstance(event, control.DeviceUninstalled):
            await self.on_uninstalled(event)
        elif isinstance(event, control.JumpAnswered):
            if self.installed and self.device_id is not None:
                async with self.runtime.transaction() as db:
                    await jumps.answered(db, self.device_id, event.answer)
        elif isinstance(event, control.BadFrame):
            self._bad_frames.note(self.ip, event)
        elif isinstance(event, control.Closed | control.PeerError):
            log.info("agent channel from %s: %s (%s)", self.ip, event.code, event.message)

    async def on_uninstalled(self, event: control.DeviceUninstalled) -> None:
        """An installed agent is going away: uninstalled on the device by an administrator
        (answered with `uninstall`, the connection's last word), or done obeying the server's
        `uninstall`. domain/device_list.uninstalled removes the device and audits it."""
        if not self.installed or self.device_id is None:
            self.connection.tell(
                "unexpected_message", "Only an installed agent can say it was uninstalled."
            )
            return
        async with self.runtime.transaction() as db:
            await device_list.uninstalled(db, self.device_id, self.ip, event.reason)
        log.info(
            "installed device %d (from %s): uninstalled (%s)", self.device_id, self.ip, event.reason
        )
        if not self.connection.closed:
            self.connection.uninstall_noted(device_list.UNINSTALL_NOTED)

    async def _open_jump(self) -> int | None:
        """An installed device's link that came back during a jump does not know it (nothing is
        read when it reconnects): its reports find the open jump when they arrive."""
        if not self.installed or self.device_id is None:
            return None
        async with self.runtime.reading() as db:
            jump = await jumps.open_jump_of(db, self.device_id)
        self.session_id = jump.id if jump is not None else None
        return self.session_id

    async def on_hello(self, event: control.HelloReceived) -> None:
        credential = event.hello.credential
        if isinstance(credential, DeviceCredential):
            await self.on_device_back(event.hello, credential)
            return
        if isinstance(credential, AdHocCredential):
            await self.on_host_hello(event.hello, credential)
            return
        try:
            async with self.runtime.transaction() as db:
                if isinstance(credential, SessionKeyCredential):
                    judged = await session_keys.redeemable(
                        db, credential.key, self.ip, self.runtime.key_throttle
                    )
                    if isinstance(judged, KeyRefusal):
                        resumed = await self._resumed_with_used_key(db, credential.key, judged)
                        if resumed is None:
                            self._refuse(judged)
                            return
                        self.session_id = resumed.id
                    else:
                        self.key = judged
                elif isinstance(credential, ResumeCredential):
                    found = await support_sessions.resumable(
                        db, credential.device_id, credential.session_id, event.hello.public_key
                    )
                    if isinstance(found, KeyRefusal):
                        self._refuse(found)
                        return
                    self.session_id = found.id
                elif isinstance(credential, InstallerCredential):
                    installer = await installers.usable(
                        db, credential.token, self.ip, self.runtime.key_throttle
                    )
                    if isinstance(installer, KeyRefusal):
                        self._refuse(installer)
                        return
                    self.installer_id, self.installed = installer.id, True
        except RateLimited as error:
            log.warning("agent key guessing from %s refused", self.ip)
            async with self.runtime.transaction() as db:
                await portal.agent_key_guessing_refused(db, self.ip, self.runtime.refusals)
            self.connection.refuse(error.code, error.message)
            return
        except DomainError as error:
            self.connection.refuse(error.code, error.message)
            return
        self.connection.challenge()

    async def on_device_back(self, hello: Hello, credential: DeviceCredential) -> None:
        """An installed device coming back with its id (all of them after a restart): only
        reads, in a reading transaction, so it never waits for SQLite's write lock (issue 13)."""
        # Judged with the other hellos of the moment: one SELECT for them all.
        back = await self.runtime.returning_devices.judge(credential.device_id, hello.public_key)
        if isinstance(back, KeyRefusal):
            self._refuse(back)
            return
        self.device_id, self.installed = back.device_id, True
        self.uninstall_due = back.uninstall
        self.connection.challenge()

    async def _resumed_with_used_key(
        self, db: AsyncSession, typed: str, refusal: KeyRefusal
    ) -> SupportSession | None:
        hello = self.connection.hello
        if refusal.code != session_keys.USED.code or hello is None:
            return None
        session_id = await session_keys.session_of_used_key(db, typed)
        if session_id is None:
            return None
        return await support_sessions.resumable_with_used_key(db, session_id, hello.public_key)

    async def on_host_hello(self, hello: Hello, credential: AdHocCredential) -> None:
        """A temporary host with its deployment token (domain/ad_hoc_sessions.host_arrived: the
        device enrolled the first time, found again after; ADH-7's refusals in its language)."""
        try:
            async with self.runtime.transaction() as db:
                session = await ad_hoc_sessions.host_arrived(
                    db,
                    credential.token,
                    hello,
                    language=credential.language,
                    previous_device_key=credential.previous_device_key,
                    permanent_agent_key=credential.permanent_agent_key,
                    ip=self.ip,
                )
                self.ad_hoc_id, self.device_id = session.id, session.device_id
        except DomainError as error:
            log.info("temporary host from %s refused: %s", self.ip, error.code)
            self.connection.refuse(error.code, error.message)
            return
        self.connection.challenge()

    async def on_host_proof(self) -> None:
        """The temporary host proved its key: online, welcomed, told its session's state (asked
        for the code, or activated with the access password's hash)."""
        hello = self.connection.hello
        assert hello is not None and self.ad_hoc_id is not None and self.device_id is not None
        async with self.runtime.transaction() as db:
            session = await ad_hoc_sessions.by_id(db, self.ad_hoc_id)
            assert session is not None
            activation = await ad_hoc_sessions.activation_of(db, session)
            if activation is None:
                await ad_hoc_sessions.waiting_for_code(db, session)
            await device_list.link_started(db, self.device_id, hello, self.ip)
        self._online = True
        self.runtime.devices_online.arrive(self.device_id)
        events = await self._stack.enter_async_context(
            self.runtime.broker.subscribe(device_topic(self.device_id))
        )
        self._tasks.append(asyncio.create_task(self._forward(events)))
        self.runtime.agent_heartbeat.watch(self)
        self.connection.welcome(self.device_id, None, self._heartbeat_seconds)
        self._silence = float(SILENT_HEARTBEATS * self._heartbeat_seconds)
        self.connection.ad_hoc(host_status(activation))
        log.info("temporary host of ad hoc session %d: connected from %s", self.ad_hoc_id, self.ip)

    async def on_ad_hoc(self, event: control.AdHocReported) -> None:
        """The host's code, its answer to a connection, or the recipient's "End session"."""
        if self.ad_hoc_id is None or self.device_id is None:
            self.connection.tell("unexpected_message", "This agent is not a temporary host.")
            return
        message = event.message
        try:
            async with self.runtime.transaction() as db:
                session = await ad_hoc_sessions.by_id(db, self.ad_hoc_id)
                assert session is not None
                if isinstance(message, AdHocCode):
                    activation = await ad_hoc_sessions.activate(
                        db, session, message.code, self.runtime.ad_hoc_code_throttle, ip=self.ip
                    )
                    self.connection.ad_hoc(host_status(activation))
                elif isinstance(message, AdHocConnectAnswer):
                    await ad_hoc_sessions.connection_answered(
                        db, self.device_id, message.session_id, message.accepted
                    )
                    if not message.accepted and self.session_id == message.session_id:
                        self.session_id = None
                else:
                    await ad_hoc_sessions.ended_by_recipient(db, session, message.reason)
        except DomainError as error:
            self.connection.tell(error.code, error.message)

    async def on_proof(self) -> None:
        if self.ad_hoc_id is not None:
            await self.on_host_proof()
            return
        if self.installed:
            await self.on_installed_proof()
            return
        hello = self.connection.hello
        assert hello is not None
        async with self.runtime.transaction() as db:
            if self.key is not None:
                result = await support_sessions.enrol_attended(db, self.key, hello, self.ip)
                if isinstance(result, KeyRefusal):
                    self._refuse(result)
                    return
                session = result
            else:
                assert self.session_id is not None
                session = await support_sessions.agent_reconnected(db, self.session_id, self.ip)
            self.session_id, self.device_id = session.id, session.device_id
            await device_list.link_started(db, session.device_id, hello, self.ip)
            if not self._online:
                self._online = True
                self.runtime.devices_online.arrive(session.device_id)
            await self._listen(session.device_id, session.id)
            self.connection.welcome(session.device_id, session.id, self._heartbeat_seconds)
            self._silence = float(SILENT_HEARTBEATS * self._heartbeat_seconds)
            self.connection.show_customer(await customer_desktop.window_state(db, session.id))

    async def on_installed_proof(self) -> None:
        """An installed agent proved its key pair: enrol it with its installer (counted against
        the cap) or note that its device is back; either way it stays connected, online."""
        hello = self.connection.hello
        assert hello is not None
        if self.uninstall_due:
            assert self.device_id is not None
            async with self.runtime.transaction() as db:
                await device_list.uninstall_told(db, self.device_id, self.ip, at_hello=True)
            log.info("deleted device %d (from %s): told to uninstall", self.device_id, self.ip)
            self.connection.uninstall(device_list.UNINSTALL_REASON)
            self._silence = UNINSTALL_REPORT_SECONDS  # for its `uninstalled`
            return
        if self.installer_id is not None:
            async with self.runtime.transaction() as db:
                enrolled = await installers.enrol(db, self.installer_id, hello, self.ip)
                if isinstance(enrolled, KeyRefusal):
                    self._refuse(enrolled)
                    return
                device_id = enrolled.id
                await device_list.link_started(db, device_id, hello, self.ip)
            self.runtime.devices_online.arrive(device_id)
            log.info("installed device %d: enrolled from %s", device_id, self.ip)
        else:
            # Back with its id: no transaction of its own; its link is written with the others
            # starting or ending now (presence.DeviceLinks), and no audit entry (a routine
            # reconnection is not a security action; the device list shows online since).
            assert self.device_id is not None
            device_id = self.device_id
            self.runtime.devices_online.arrive(device_id)
            self.runtime.device_links.started(device_id, hello, self.ip)
            log.debug("installed device %d: connected from %s", device_id, self.ip)
        self.device_id, self._online = device_id, True
        events = await self._stack.enter_async_context(
            self.runtime.broker.subscribe(device_topic(device_id))
        )
        self._tasks.append(asyncio.create_task(self._forward(events)))
        self.runtime.agent_heartbeat.watch(self)
        self.connection.welcome(device_id, None, self._heartbeat_seconds)
        self._silence = float(SILENT_HEARTBEATS * self._heartbeat_seconds)

    async def on_customer(self, event: control.CustomerSpoke) -> None:
        """The customer's window answered, pressed a button or chatted: the portal page's rules;
        a refusal is told to the window, the channel lives on."""
        assert self.session_id is not None
        message = event.message
        try:
            async with self.runtime.transaction() as db:
                if isinstance(message, ConsentAnswer):
                    await customer_desktop.answer(db, self.session_id, message)
                elif isinstance(message, ChatSend):
                    await customer_desktop.chat(db, self.session_id, message.text)
                else:
                    await customer_desktop.act(db, self.session_id, message)
        except DomainError as error:
            self.connection.tell(error.code, error.message)

    async def on_jump_client(self, event: control.JumpClientReported) -> None:
        """The customer's answer about installing a Jump client (allowed: the single-use token
        goes back on this link), or how the installation went (domain/jump_client_install.py)."""
        if self.session_id is None or self.installed:
            self.connection.tell("unexpected_message", "No installation was asked of this agent.")
            return
        message = event.message
        try:
            async with self.runtime.transaction() as db:
                if isinstance(message, JumpClientAnswer):
                    token = await jump_client_install.answered(
                        db, self.session_id, message, self.ip
                    )
                    if token:
                        self.connection.jump_client(
                            JumpClientInstall(
                                type="jump_client_install",
                                request_id=message.request_id,
                                token=token,
                            )
                        )
                else:
                    await jump_client_install.reported(db, self.session_id, message, self.ip)
        except DomainError as error:
            self.connection.tell(error.code, error.message)

    async def _listen(self, device_id: int, session_id: int) -> None:
        """Commands for this device (end, sysinfo, tunnels) arrive through the broker, and what
        the customer's window shows through the session's topic (the portal page's)."""
        events = await self._stack.enter_async_context(
            self.runtime.broker.subscribe(device_topic(device_id))
        )
        customer = await self._stack.enter_async_context(
            self.runtime.broker.subscribe(session_topic(session_id))
        )
        self._tasks.append(asyncio.create_task(self._forward(events)))
        self._tasks.append(asyncio.create_task(self._forward(customer)))
        self.runtime.agent_heartbeat.watch(self)

    async def _forward(self, events: AsyncIterator[BrokerEvent]) -> None:
        try:
            await self._forward_commands(events)
        except FellBehind:
            await limits.close_fallen_behind(self.websocket)  # the agent comes back (resume)

    async def _forward_commands(self, events: AsyncIterator[BrokerEvent]) -> None:
        async for command in events:
            if isinstance(command, EndSession) and self.ad_hoc_id is not None:
                # A connection to a temporary host ended; the ad hoc session goes on.
                if self.session_id is not None:
                    self.connection.jump(
                        JumpEnd(type="jump_end", session_id=self.session_id, reason=command.reason)
                    )
                    self.session_id = None
            elif isinstance(command, JumpEnd) and self.ad_hoc_id is not None:
                # A connection to a temporary host ended (support_sessions says so as for a
                # jump): the host closes its tools; the ad hoc session goes on.
                if self.session_id == command.session_id:
                    self.session_id = None
                self.connection.jump(command)
            elif isinstance(command, AdHocConnect):
                if self.ad_hoc_id is not None:
                    self.session_id = command.session_id
                    self.connection.ad_hoc(command)
            elif isinstance(command, EndSession):
                self.connection.end_session(command.reason)
            elif isinstance(command, SysinfoRequest):
                self.connection.request_sysinfo(command.request_id)
            elif isinstance(command, TunnelOpen):
                self.connection.open_tunnel(
                    command.tunnel_id,
                    command.kind,
                    command.token,
                    command.input_allowed,
                    command.files,
                )
            elif isinstance(command, InputPolicy):
                self.connection.set_input_policy(command.allowed)
            elif isinstance(command, JumpStart | JumpEnd) and self.installed:
                # A jump to this installed device (UNA-6): the link serves its session until it
                # ends (system information, file reports), and stays connected after.
                if isinstance(command, JumpStart):
                    self.session_id = command.session_id
                elif self.session_id == command.session_id:
                    self.session_id = None
                self.connection.jump(command)
            elif isinstance(command, SessionState | CustomerScreen):
                assert self.session_id is not None
                async with self.runtime.transaction() as db:
                    state = await customer_desktop.window_state(db, self.session_id)
                self.connection.show_customer(state)
            elif isinstance(command, CustomerChat):
                self.connection.chat_to_customer(customer_desktop.chat_entry(command))
            elif isinstance(command, Uninstall) and self.ad_hoc_id is not None:
                # The ad hoc session is over: the host removes itself and exits.
                async with self.runtime.transaction() as db:
                    session = await ad_hoc_sessions.by_id(db, self.ad_hoc_id)
                    if session is not None:
                        await ad_hoc_sessions.host_uninstalled(db, session, self.ip)
                self.connection.uninstall(command.reason)
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await self.flush()
                    await self.websocket.close(code=1000)
                return
            elif isinstance(command, Uninstall):
                if self.installed and self.device_id is not None:
                    async with self.runtime.transaction() as db:
                        await device_list.uninstall_told(
                            db, self.device_id, self.ip, at_hello=False
                        )
                    log.info("deleted device %d: told to uninstall", self.device_id)
                    self.connection.uninstall(command.reason)
                    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                        await self.flush()
                    # run() reads the agent's `uninstalled` and closes (this task is cancelled
                    # then); an agent that says nothing is closed on after a while.
                    await asyncio.sleep(UNINSTALL_REPORT_SECONDS)
                    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                        await self.websocket.close(code=1000)
                    return
            elif isinstance(command, JumpClientAsk | JumpClientInstall):
                # The attended session's support client asks the customer; an installation
                # allowed on the portal page comes this way (allowed in the window: directly).
                if not self.installed:
                    self.connection.jump_client(command)
            elif isinstance(command, CloseTunnels):
                assert self.session_id is not None
                for tunnel in await self.runtime.tunnels.open_of_session(self.session_id):
                    if tunnel.kind == command.kind:
                        self.connection.close_tunnel(tunnel.id)
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.flush()

    def beat(self, now: float) -> bool:
        """The heartbeat (server/agent_heartbeat, once a heartbeat): a ping; or, when the agent
        has been silent for three heartbeats (no pong, nothing), the link is dropped while it
        waits for a frame (never in the middle of handling one: then at the next beat). False
        once dropped."""
        if self.connection.closed:
            return False
        if now - self._heard_at >= self._silence:
            if not self._receiving or self._runner is None:
                return True
            self._went_silent = True
            self._runner.cancel()
            return False
        self.connection.ping()
        if self._pinging is None or self._pinging.done():  # else it goes out with that one
            self._pinging = asyncio.create_task(self._send_ping())
        return True

    async def _send_ping(self) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await self.flush()


def host_status(activation: ad_hoc_sessions.Activation | None) -> AdHocStatus:
    """What a temporary host is told of its session: waiting for the code, or activated."""
    if activation is None:
        return AdHocStatus(type="adhoc_status", state="waiting_for_code")
    return AdHocStatus(
        type="adhoc_status",
        state="activated",
        organisation=activation.organisation[:500],
        technician=activation.technician[:500],
        expires_at=activation.expires_at.isoformat(),
        password_hash=activation.password_hash,
    )


class BadFrameLog:
    """Frames an agent got wrong are answered one by one but logged once per kind and channel,
    with a count when the channel closes, so that a flood cannot fill the log."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def note(self, ip: str, event: control.BadFrame) -> None:
        code = str(event.code)  # the code's words, not an enum's repr, in the summary
        self.counts[code] += 1
        if self.counts[code] == 1:
            log.info("agent channel from %s: %s (%s)", ip, event.code, event.message)

    def summarise(self, ip: str) -> None:
        repeated = {code: n for code, n in self.counts.items() if n > 1}
        if repeated:
            log.info("agent channel from %s: bad frames dropped in all: %s", ip, repeated)


async def agent_endpoint(websocket: WebSocket) -> None:
    # The protocol's limit before the handshake, checked as each frame's header arrives.
    limits.limit_message_size(websocket, HANDSHAKE_FRAME_BYTES)
    await websocket.accept()
    limits.without_transport_pings(websocket)
    limits.kernel_keepalive(websocket)
    ip = client_ip(websocket)
    await AgentLink(websocket.app.state.runtime, websocket, ip).run()
