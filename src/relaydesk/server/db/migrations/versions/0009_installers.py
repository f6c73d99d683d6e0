"""installers: reusable, capped credentials that enrol installed devices (issue 13, UNA-2)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from relaydesk.server.db.models import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "installers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("device_group_id", sa.Integer(), nullable=True),
        sa.Column("max_installations", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_installers_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["device_group_id"],
            ["device_groups.id"],
            name=op.f("fk_installers_device_group_id_device_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_installers_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installers")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_installers_token_hash")),
    )
    with op.batch_alter_table("installers") as batch:
        batch.create_index(
            batch.f("ix_installers_organisation_id"), ["organisation_id"], unique=False
        )
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("installer_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_devices_installer_id_installers"),
            "installers",
            ["installer_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_constraint(batch.f("fk_devices_installer_id_installers"), type_="foreignkey")
        batch.drop_column("installer_id")
    with op.batch_alter_table("installers") as batch:
        batch.drop_index(batch.f("ix_installers_organisation_id"))
    op.drop_table("installers")
