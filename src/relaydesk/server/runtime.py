"""What the running server holds: settings, database, throttles."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from relaydesk.server.config import Settings
from relaydesk.server.db.engine import make_engine, make_sessionmaker
from relaydesk.server.domain.signin import SignInPolicy
from relaydesk.server.domain.throttle import AttemptThrottle


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    signin_policy: SignInPolicy
    signin_throttle: AttemptThrottle = field(repr=False)

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.effective_database_url)
        window = timedelta(minutes=settings.lockout_window_minutes)
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=make_sessionmaker(engine),
            signin_policy=SignInPolicy(
                failures_before_lockout=settings.login_failures_before_lockout,
                lockout_window=window,
                session_lifetime=timedelta(hours=settings.session_hours),
            ),
            signin_throttle=AttemptThrottle(
                settings.ip_failures_per_window, window.total_seconds()
            ),
        )

    async def close(self) -> None:
        await self.engine.dispose()
