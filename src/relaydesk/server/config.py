"""Server settings: environment variables RELAYDESK_*, optionally a TOML config file."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from relaydesk.server.client_address import parse_network


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELAYDESK_", extra="forbid")

    data_dir: Path = Field(default=Path("data"))
    database_url: str | None = None
    # Several nodes (issue 15): presence, events, throttles shared through this Redis; unset,
    # everything lives in this process (one node). RELAYDESK_NODE_ID names the node (default:
    # host, process id and a random suffix).
    redis_url: str | None = Field(default=None, repr=False)
    node_id: str | None = None
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 2 * 1024 * 1024
    session_hours: int = 12
    login_failures_before_lockout: int = 10
    lockout_window_minutes: int = 15
    ip_failures_per_window: int = 50
    key_failures_per_window: int = 20
    # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR ranges, comma-separated
    # in RELAYDESK_TRUSTED_PROXIES); empty: the header is ignored and the peer is the client.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    portal_starts_per_window: int = 20
    housekeeping_interval_seconds: float = 3600.0
    # The agents' control channel's heartbeat: the server's JSON ping every so many seconds (an
    # agent silent for three is dropped, and so is a server silent for three); the kernel's TCP
    # keepalive finds a vanished machine in between (protocol/keepalive.py). Below the idle
    # timeout of any proxy in front of the server.
    agent_heartbeat_seconds: int = Field(default=60, ge=1, le=600)
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    # Make (first start) and serve a self-signed certificate kept in <data_dir>/tls/.
    tls_self_signed: bool = False
    # The portal's commands and launchers carry the served certificate's fingerprint, so agents
    # pin it; turn off for a certificate from a public authority that is renewed automatically.
    tls_pin: bool = True
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    mail_from: str = "relaydesk <support@localhost>"
    mail_outbox: bool = False
    # Who may read /metrics (Prometheus): a bearer token (Authorization: Bearer <token>, never in
    # the URL) and/or addresses or CIDR ranges (comma-separated); neither: /metrics refuses all.
    metrics_token: str | None = Field(default=None, repr=False)
    metrics_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @field_validator("trusted_proxies", "metrics_allow", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [entry for entry in value.split(",") if entry.strip()]
        if isinstance(value, list):
            for entry in value:
                parse_network(str(entry))  # a clear error at start, not a silent mistrust
            return [str(entry).strip() for entry in value]
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'relaydesk.sqlite3'}"

    @property
    def serves_tls(self) -> bool:
        return self.tls_certfile is not None or self.tls_self_signed

    @property
    def secure_cookies(self) -> bool:
        return self.serves_tls or bool(self.public_url and self.public_url.startswith("https://"))


def load_settings(**overrides: Any) -> Settings:
    """Settings from RELAYDESK_CONFIG (a TOML file), overlaid by env vars, then overrides."""
    file_values: dict[str, Any] = {}
    config_path = os.environ.get("RELAYDESK_CONFIG")
    if config_path:
        with open(config_path, "rb") as handle:
            file_values = tomllib.load(handle)
    env_values = Settings().model_dump(exclude_unset=True)
    merged = {**file_values, **env_values, **{k: v for k, v in overrides.items() if v is not None}}
    return Settings(**merged)
