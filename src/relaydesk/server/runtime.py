"""What the running server holds: settings, database, throttles."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from relaydesk.server.broker import MemoryBroker
from relaydesk.server.client_address import TrustedProxies
from relaydesk.server.config import Settings
from relaydesk.server.db.engine import make_engine, make_sessionmaker, reading_engine
from relaydesk.server.domain import recordings, retention
from relaydesk.server.domain.ad_hoc_sessions import sweep as sweep_ad_hoc_sessions
from relaydesk.server.domain.notifications import Broker, publish_committed
from relaydesk.server.domain.password_checks import PasswordGuard
from relaydesk.server.domain.presence import Presence
from relaydesk.server.domain.refusals import MemoryTallyBook, RefusalTally
from relaydesk.server.domain.signin import SignInPolicy
from relaydesk.server.domain.throttle import AttemptThrottle, MemoryLedger
from relaydesk.server.domain.tunnels import MemoryTunnels, TunnelRegistry
from relaydesk.server.downloads.agent_wheel import AgentWheel
from relaydesk.server.downloads.support_client import SupportClient
from relaydesk.server.live_sockets import MemoryLiveSockets
from relaydesk.server.mail.sending import Mailer, OutboxMailer, SmtpMailer
from relaydesk.server.presence import DeviceLinks, MemoryPresence
from relaydesk.server.relay.pipe import RelayHub
from relaydesk.server.relay.recording import ShellRecording

log = logging.getLogger(__name__)
REFUSAL_SUMMARY_SECONDS = 30.0


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
    broker: Broker = field(repr=False)
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
    # Wrong jump passwords, per technician and device (domain/jumps.py): 5 in 15 minutes.
    jump_password_throttle: AttemptThrottle = field(
        default_factory=lambda: AttemptThrottle(
            MemoryLedger(),
            5,
            15 * 60.0,
            message="Too many wrong jump passwords for this device. "
            "Try again in {seconds} seconds.",
        ),
        repr=False,
    )
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
        engine = make_engine(settings.effective_database_url)
        seconds = timedelta(minutes=settings.lockout_window_minutes).total_seconds()
        refusals = RefusalTally(MemoryTallyBook(), seconds)
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=make_sessionmaker(engine),
            signin_policy=SignInPolicy(session_lifetime=timedelta(hours=settings.session_hours)),
            password_guard=PasswordGuard(
                per_address=AttemptThrottle(
                    MemoryLedger(), settings.ip_failures_per_window, seconds
                ),
                per_account=AttemptThrottle(
                    MemoryLedger(), settings.login_failures_before_lockout, seconds
                ),
                refusals=refusals,
            ),
            key_throttle=AttemptThrottle(MemoryLedger(), settings.key_failures_per_window, seconds),
            portal_start_throttle=AttemptThrottle(
                MemoryLedger(),
                settings.portal_starts_per_window,
                seconds,
                message="Too many support requests from your address. "
                "Try again in {seconds} seconds.",
            ),
            refusals=refusals,
            trusted_proxies=TrustedProxies.of(settings.trusted_proxies),
            broker=MemoryBroker(),
            mailer=_mailer(settings),
        )

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
        """Runs for the life of the server: retention purges, stale tunnel tokens."""
        while True:
            try:
                async with self.transaction() as db:
                    for purged in await retention.purge(db):
                        log.info("retention purge: %s", purged)
                    if expired := await sweep_ad_hoc_sessions(db):
                        log.info("ad hoc sessions expired: %d", expired)
                self.tunnels.sweep()
            except Exception:  # noqa: BLE001 - a failed round must not stop the next ones
                log.exception("housekeeping round failed")
            await asyncio.sleep(self.settings.housekeeping_interval_seconds)

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
        await self.device_links.close()
        await self.engine.dispose()
