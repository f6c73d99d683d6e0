"""What the running server holds: settings, database, throttles."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from relaydesk.server.agent_heartbeat import AgentHeartbeat
from relaydesk.server.broker import EventBroker, MemoryBroker
from relaydesk.server.client_address import TrustedProxies
from relaydesk.server.config import Settings
from relaydesk.server.db.engine import make_engine, make_sessionmaker, reading_engine
from relaydesk.server.db.models import Device
from relaydesk.server.domain import device_list, recordings, retention
from relaydesk.server.domain.ad_hoc_sessions import sweep as sweep_ad_hoc_sessions
from relaydesk.server.domain.errors import DomainError
from relaydesk.server.domain.notifications import publish_committed
from relaydesk.server.domain.password_checks import PasswordGuard
from relaydesk.server.domain.presence import Presence
from relaydesk.server.domain.refusals import MemoryTallyBook, RefusalTally
from relaydesk.server.domain.signin import SignInPolicy
from relaydesk.server.domain.throttle import AttemptLedger, AttemptThrottle, Clock, MemoryLedger
from relaydesk.server.domain.tool_openings import ToolOpening
from relaydesk.server.domain.tool_openings import write as write_tool_openings
from relaydesk.server.domain.tunnels import MemoryTunnels, TunnelRegistry
from relaydesk.server.downloads.agent_wheel import AgentWheel
from relaydesk.server.downloads.support_client import SupportClient
from relaydesk.server.group_commit import GroupCommit
from relaydesk.server.live_sockets import MemoryLiveSockets
from relaydesk.server.mail.sending import Mailer, OutboxMailer, SmtpMailer
from relaydesk.server.presence import DeviceLinks, MemoryPresence, ReturningDevices
from relaydesk.server.relay.pipe import RelayHub
from relaydesk.server.relay.recording import ShellRecording
from relaydesk.server.shared_state.refusals import RedisTallyBook
from relaydesk.server.shared_state.state import SharedState
from relaydesk.server.shared_state.throttle import RedisLedger

log = logging.getLogger(__name__)
REFUSAL_SUMMARY_SECONDS = 30.0
AD_HOC_SWEEP_SECONDS = 60.0
JUMP_PASSWORDS = 5
JUMP_PASSWORD_WINDOW = 15 * 60.0
JUMP_PASSWORD_MESSAGE = (
    "Too many wrong jump passwords for this device. Try again in {seconds} seconds."
)


def _mailer(settings: Settings) -> Mailer | None:
    if settings.smtp_host:
        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
    if settings.mail_outbox:
        return OutboxMailer(settings.outbox_dir)
    return None


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    signin_policy: SignInPolicy
    # Throttles and the refusals' audit tally (docs/security.md, "Throttles and lock-out").
    password_guard: PasswordGuard = field(repr=False)
    key_throttle: AttemptThrottle = field(repr=False)
    portal_start_throttle: AttemptThrottle = field(repr=False)
    refusals: RefusalTally = field(repr=False)
    trusted_proxies: TrustedProxies = field(repr=False)
    broker: EventBroker = field(repr=False)
    mailer: Mailer | None = field(repr=False)
    # Technicians with a console open (by user), devices whose agent is connected (by device;
    # the console shows it, sysinfo needs it). Counted on this node (domain/presence.py).
    presence: Presence = field(default_factory=MemoryPresence, repr=False)
    devices_online: Presence = field(default_factory=MemoryPresence, repr=False)
    agent_wheel: AgentWheel = field(init=False, repr=False)
    support_client: SupportClient = field(init=False, repr=False)
    tunnels: TunnelRegistry = field(default_factory=MemoryTunnels, repr=False)
    # Console WebSockets and tunnels of this node by user and sign-in (closed when they end).
    live_sockets: MemoryLiveSockets = field(default_factory=MemoryLiveSockets, repr=False)
    relay: RelayHub = field(init=False, repr=False)
    # Installed devices' links, written to the device list in batches (presence.DeviceLinks).
    device_links: DeviceLinks = field(init=False, repr=False)
    # Installed devices' hellos, read in batches (presence.ReturningDevices).
    returning_devices: ReturningDevices = field(init=False, repr=False)
    # Tools' tunnels opened by technicians: their session events and audit entries, written
    # together with the others of the moment (domain/tool_openings.py, server/group_commit.py).
    tool_openings: GroupCommit[ToolOpening, DomainError | None] = field(init=False, repr=False)
    # The agents' links' one heartbeat task (server/agent_heartbeat.py).
    agent_heartbeat: AgentHeartbeat = field(init=False, repr=False)
    # Wrong jump passwords, per technician and device (domain/jumps.py): 5 in 15 minutes.
    jump_password_throttle: AttemptThrottle = field(
        default_factory=lambda: AttemptThrottle(
            MemoryLedger(), JUMP_PASSWORDS, JUMP_PASSWORD_WINDOW, message=JUMP_PASSWORD_MESSAGE
        ),
        repr=False,
    )
    # Several nodes: the Redis side of presence, broker and throttles (None: one process).
    shared: SharedState | None = field(default=None, repr=False)
    # Ad hoc support (domain/ad_hoc_sessions.py): wrong security codes per ad hoc session, wrong
    # access passwords per technician and ad hoc session: 5 in 15 minutes each.
    ad_hoc_code_throttle: AttemptThrottle = field(
        default_factory=lambda: AttemptThrottle(MemoryLedger(), 5, 15 * 60.0), repr=False
    )
    ad_hoc_password_throttle: AttemptThrottle = field(
        default_factory=lambda: AttemptThrottle(
            MemoryLedger(),
            5,
            15 * 60.0,
            message="Too many wrong access passwords for this ad hoc session. "
            "Try again in {seconds} seconds.",
        ),
        repr=False,
    )

    def __post_init__(self) -> None:
        self.device_links = DeviceLinks(self.transaction, self.devices_online)
        self.returning_devices = ReturningDevices(self.engine)
        self.tool_openings = GroupCommit(self.transaction, write_tool_openings)
        self.agent_heartbeat = AgentHeartbeat(self.settings.agent_heartbeat_seconds)
        self.agent_wheel = AgentWheel(self.settings.data_dir / "agent_dist")
        self.support_client = SupportClient(self.settings.data_dir / "support_client")
        self.relay = RelayHub(
            self.tunnels,
            self.broker,
            self.settings.data_dir / "recordings",
            on_recorded=self._recorded,
        )

    async def _recorded(self, recording: ShellRecording) -> None:
        async with self.transaction() as db:
            await recordings.register_shell(
                db,
                recording.tunnel.session_id,
                recording.tunnel.id,
                recording.tunnel.opened_by,
                recording.started_wall,
                recording.cast_path,
                recording.transcript_path,
                len(recording.output),
            )

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        """Memory registries for one process; with RELAYDESK_REDIS_URL, the Redis ones that
        every node shares (server/shared_state/)."""
        engine = make_engine(settings.effective_database_url)
        seconds = timedelta(minutes=settings.lockout_window_minutes).total_seconds()
        shared = (
            SharedState.connect(settings.redis_url, settings.node_id)
            if settings.redis_url
            else None
        )
        # Counted attempts and refusals: in memory with this process's monotonic clock, or in
        # Redis with the wall clock every node shares.
        clock: Clock = time.monotonic if shared is None else time.time
        refusals = RefusalTally(
            MemoryTallyBook() if shared is None else RedisTallyBook(shared.node),
            seconds,
            clock=clock,
        )

        def ledger(name: str, window: float) -> AttemptLedger:
            return MemoryLedger() if shared is None else RedisLedger(shared.node, name, window)

        def throttle(name: str, limit: int, window: float, **message: str) -> AttemptThrottle:
            return AttemptThrottle(ledger(name, window), limit, window, clock=clock, **message)

        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=make_sessionmaker(engine),
            signin_policy=SignInPolicy(session_lifetime=timedelta(hours=settings.session_hours)),
            password_guard=PasswordGuard(
                per_address=throttle("password-address", settings.ip_failures_per_window, seconds),
                per_account=throttle(
                    "password-account", settings.login_failures_before_lockout, seconds
                ),
                refusals=refusals,
            ),
            key_throttle=throttle("key", settings.key_failures_per_window, seconds),
            portal_start_throttle=throttle(
                "portal-start",
                settings.portal_starts_per_window,
                seconds,
                message="Too many support requests from your address. "
                "Try again in {seconds} seconds.",
            ),
            refusals=refusals,
            trusted_proxies=TrustedProxies.of(settings.trusted_proxies),
            broker=MemoryBroker() if shared is None else shared.broker,
            mailer=_mailer(settings),
            presence=MemoryPresence() if shared is None else shared.technicians,
            devices_online=MemoryPresence() if shared is None else shared.devices,
            jump_password_throttle=throttle(
                "jump-password", JUMP_PASSWORDS, JUMP_PASSWORD_WINDOW, message=JUMP_PASSWORD_MESSAGE
            ),
            ad_hoc_code_throttle=throttle("ad-hoc-code", 5, 15 * 60.0),
            ad_hoc_password_throttle=throttle(
                "ad-hoc-password",
                5,
                15 * 60.0,
                message="Too many wrong access passwords for this ad hoc session. "
                "Try again in {seconds} seconds.",
            ),
            shared=shared,
            # Several nodes: a tunnel's id names the node that owns it (domain/tunnels.py), and
            # its record is shared with the other nodes (shared_state/tunnels.py).
            tunnels=MemoryTunnels() if shared is None else shared.tunnels,
        )

    async def start(self) -> None:
        """At start-up. One process: no agent holds a link to it yet, so no device is online.
        Several nodes: the others' links stand; the shared state starts, and devices that the
        database says are online but no live node holds go offline (presence.DeviceReaper)."""
        if self.shared is None:
            async with self.transaction() as db:
                await device_list.no_agent_connected(db)
            return
        await self.shared.start(self._online_in_database, self._reaped)

    async def _online_in_database(self) -> set[int]:
        async with self.reading() as db:
            found = await db.scalars(select(Device.id).where(Device.online_since.is_not(None)))
            return set(found)

    async def _reaped(self, device_ids: set[int]) -> None:
        async with self.transaction() as db:
            for device_id in sorted(device_ids):
                if not self.devices_online.is_online(device_id):
                    await device_list.link_ended(db, device_id)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed at the end of the block (rolled back on error),
        then its announced events published."""
        async with self.sessionmaker() as db:
            yield db
            await db.commit()
            await publish_committed(db, self.broker)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """transaction() for a request that only reads (GET): on SQLite it takes no write lock,
        so a long listing never holds writers (agents enrolling) up; whatever it wrote anyway is
        committed the same way."""
        async with self.sessionmaker(bind=reading_engine(self.engine)) as db:
            yield db
            await db.commit()
            await publish_committed(db, self.broker)

    async def housekeeping(self) -> None:
        """Runs for the life of the server: retention purges, stale tunnel tokens. With several
        nodes the purge is one node's turn per interval (the first to ask, through Redis:
        RedisNode.take_turn), so it runs once per interval for the cluster whichever nodes
        live; each node sweeps its own tunnels."""
        interval = self.settings.housekeeping_interval_seconds
        while True:
            try:
                self.tunnels.sweep()
                if self.shared is None or await self.shared.node.take_turn("retention", interval):
                    async with self.transaction() as db:
                        purged = await retention.purge(db)
                    for each in purged:
                        log.info("retention purge: %s", each)
                    log.info("retention purge done (%d organisation(s) purged)", len(purged))
            except Exception:  # noqa: BLE001 - a failed round must not stop the next ones
                log.exception("housekeeping round failed")
            await asyncio.sleep(interval)

    async def ad_hoc_expiry(self) -> None:
        """Runs for the life of the server: ad hoc sessions 24 hours past their activation (and
        links unused for 24 hours) end, their hosts told to uninstall (domain/ad_hoc_sessions)."""
        while True:
            await asyncio.sleep(AD_HOC_SWEEP_SECONDS)
            try:
                async with self.transaction() as db:
                    if expired := await sweep_ad_hoc_sessions(db):
                        log.info("ad hoc sessions expired: %d", expired)
            except Exception:  # noqa: BLE001 - a failed round must not stop the next ones
                log.exception("ad hoc expiry round failed")

    async def summarise_refusals(self, now: float | None = None) -> None:
        """Audit the summaries of the refusal windows that have ended."""
        async with self.transaction() as db:
            await self.refusals.summarise(db, now)

    async def refusal_summaries(self) -> None:
        """Runs for the life of the server: the refusals' summaries, a little after each window
        ends; at shutdown the open windows are summarised as they stand."""
        try:
            while True:
                await asyncio.sleep(REFUSAL_SUMMARY_SECONDS)
                try:
                    await self.summarise_refusals()
                except Exception:  # noqa: BLE001 - a failed round must not stop the next ones
                    log.exception("refusal summaries failed")
        finally:
            with contextlib.suppress(Exception):
                await self.summarise_refusals(math.inf)

    async def close(self) -> None:
        await self.tool_openings.close()
        await self.device_links.close()
        if self.shared is not None:
            await self.shared.close()
        await self.engine.dispose()
