"""jump policies: prompt, schedules, jump passwords; unattended sessions; feature switch (issue 13)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from relaydesk.server.db.models import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER TABLE … ADD COLUMN with a constant default: batch mode would recreate
    # "organisations" (its default is an expression), which SQLite refuses while other tables'
    # rows refer to it.
    op.add_column(
        "organisations",
        sa.Column("unattended_access_enabled", sa.Boolean(), nullable=False, server_default="1"),
    )
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("jump_password_hash", sa.String(length=200), nullable=True))
    with op.batch_alter_table("support_sessions") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="attended")
        )
        batch.add_column(
            sa.Column("jump_state", sa.String(length=20), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("jump_desktop", sa.String(length=20), nullable=False, server_default="")
        )
    op.create_table(
        "jump_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("device_group_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("prompt", sa.String(length=10), nullable=False),
        sa.Column("when_nobody_answers", sa.String(length=10), nullable=False),
        sa.Column("answer_seconds", sa.Integer(), nullable=False),
        sa.Column("schedule_timezone", sa.String(length=64), nullable=False),
        sa.Column("schedule_windows", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_group_id"],
            ["device_groups.id"],
            name=op.f("fk_jump_policies_device_group_id_device_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_jump_policies_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_jump_policies_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jump_policies")),
        sa.UniqueConstraint("device_group_id", name=op.f("uq_jump_policies_device_group_id")),
        sa.UniqueConstraint("device_id", name=op.f("uq_jump_policies_device_id")),
    )
    with op.batch_alter_table("jump_policies") as batch:
        batch.create_index(
            batch.f("ix_jump_policies_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("jump_policies") as batch:
        batch.drop_index(batch.f("ix_jump_policies_organisation_id"))
    op.drop_table("jump_policies")
    with op.batch_alter_table("support_sessions") as batch:
        batch.drop_column("jump_desktop")
        batch.drop_column("jump_state")
        batch.drop_column("kind")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("jump_password_hash")
    # A plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): recreating the table, as batch mode would,
    # drops "organisations" while other tables' rows refer to it, which SQLite refuses.
    op.drop_column("organisations", "unattended_access_enabled")
