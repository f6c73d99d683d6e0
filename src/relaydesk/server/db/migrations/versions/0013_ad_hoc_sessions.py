"""ad hoc sessions: temporary hosts for 24 hours, device seats (issue 14)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 16:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from relaydesk.server.db.models import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("device_seats", sa.Integer(), nullable=True))
    with op.batch_alter_table("support_sessions") as batch:
        batch.add_column(sa.Column("ad_hoc_session_id", sa.Integer(), nullable=True))
        batch.create_index(
            batch.f("ix_support_sessions_ad_hoc_session_id"), ["ad_hoc_session_id"], unique=False
        )
    op.create_table(
        "ad_hoc_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=True),
        sa.Column("technician_name", sa.String(length=200), nullable=False),
        sa.Column("recipient_email", sa.String(length=320), nullable=False),
        sa.Column("access_password_hash", sa.String(length=200), nullable=False),
        sa.Column("deployment_token_hash", sa.String(length=64), nullable=False),
        sa.Column("security_code_hash", sa.String(length=64), nullable=True),
        sa.Column("security_code_issued_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("chat_on_connect", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("recipient_language", sa.String(length=5), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("link_expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("activated_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=320), nullable=False),
        sa.Column("uninstalled_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_ad_hoc_sessions_device_id_devices"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_ad_hoc_sessions_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["users.id"],
            name=op.f("fk_ad_hoc_sessions_technician_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ad_hoc_sessions")),
        sa.UniqueConstraint(
            "deployment_token_hash", name=op.f("uq_ad_hoc_sessions_deployment_token_hash")
        ),
    )
    with op.batch_alter_table("ad_hoc_sessions") as batch:
        batch.create_index(
            batch.f("ix_ad_hoc_sessions_organisation_id"), ["organisation_id"], unique=False
        )
        batch.create_index(
            batch.f("ix_ad_hoc_sessions_technician_id"), ["technician_id"], unique=False
        )
        batch.create_index(batch.f("ix_ad_hoc_sessions_state"), ["state"], unique=False)
        batch.create_index(batch.f("ix_ad_hoc_sessions_device_id"), ["device_id"], unique=False)
    _builtin_roles_with_ad_hoc(add=True)


# The built-in roles that hold every remote support permission get "Ad hoc support", as new
# organisations' do (domain/permissions.py); roles an administrator made are left as they are.
AD_HOC = "ad_hoc_support"
BUILTIN = ("administrator", "helpdesk_operator")


def _builtin_roles_with_ad_hoc(*, add: bool) -> None:
    roles = sa.table(
        "roles",
        sa.column("id", sa.Integer),
        sa.column("builtin"),
        sa.column("permissions", sa.JSON),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(roles.c.id, roles.c.permissions).where(roles.c.builtin.in_(BUILTIN))
    ).all()
    for role_id, permissions in rows:
        held = [p for p in (permissions or []) if p != AD_HOC]
        changed = [*held, AD_HOC] if add else held
        if changed != (permissions or []):
            bind.execute(sa.update(roles).where(roles.c.id == role_id).values(permissions=changed))


def downgrade() -> None:
    _builtin_roles_with_ad_hoc(add=False)
    with op.batch_alter_table("ad_hoc_sessions") as batch:
        batch.drop_index(batch.f("ix_ad_hoc_sessions_device_id"))
        batch.drop_index(batch.f("ix_ad_hoc_sessions_state"))
        batch.drop_index(batch.f("ix_ad_hoc_sessions_technician_id"))
        batch.drop_index(batch.f("ix_ad_hoc_sessions_organisation_id"))
    op.drop_table("ad_hoc_sessions")
    with op.batch_alter_table("support_sessions") as batch:
        batch.drop_index(batch.f("ix_support_sessions_ad_hoc_session_id"))
        batch.drop_column("ad_hoc_session_id")
    # A plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): recreating the table, as batch mode would,
    # drops "organisations" while other tables' rows refer to it, which SQLite refuses.
    op.drop_column("organisations", "device_seats")
