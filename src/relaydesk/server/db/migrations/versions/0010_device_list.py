"""device list: nickname, comments, tags, addresses, inventory, frequently used (issue 13)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from relaydesk.server.db.models import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT_COLUMNS = (
    ("nickname", 100),
    ("comments", 1000),
    ("company", 200),
    ("public_ip", 64),
    ("private_ips", 1100),
    ("agent_version", 100),
)
TIME_COLUMNS = ("inventory_at", "online_since", "uninstall_requested_at")


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        for name, length in TEXT_COLUMNS:
            batch.add_column(
                sa.Column(name, sa.String(length=length), server_default="", nullable=False)
            )
        batch.add_column(sa.Column("inventory", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
        for name in TIME_COLUMNS:
            batch.add_column(sa.Column(name, UTCDateTime(timezone=True), nullable=True))
        batch.create_index(
            "ix_devices_organisation_id_hostname", ["organisation_id", "hostname"], unique=False
        )
    # What the search box looks in, for the devices there are (models.device_search_text).
    op.execute(
        "UPDATE devices SET search_text = lower(hostname || char(10) || nickname || char(10) || "
        "comments || char(10) || public_ip || char(10) || private_ips)"
        if op.get_bind().dialect.name == "sqlite"
        else "UPDATE devices SET search_text = lower(hostname || chr(10) || nickname || chr(10) || "
        "comments || chr(10) || public_ip || chr(10) || private_ips)"
    )
    op.create_table(
        "device_tags",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_tags_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", "tag", name=op.f("pk_device_tags")),
    )
    with op.batch_alter_table("device_tags") as batch:
        batch.create_index(batch.f("ix_device_tags_tag"), ["tag"], unique=False)
    op.create_table(
        "device_uses",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_uses_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_device_uses_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "device_id", name=op.f("pk_device_uses")),
    )
    with op.batch_alter_table("device_uses") as batch:
        batch.create_index(batch.f("ix_device_uses_device_id"), ["device_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("device_uses") as batch:
        batch.drop_index(batch.f("ix_device_uses_device_id"))
    op.drop_table("device_uses")
    with op.batch_alter_table("device_tags") as batch:
        batch.drop_index(batch.f("ix_device_tags_tag"))
    op.drop_table("device_tags")
    with op.batch_alter_table("devices") as batch:
        batch.drop_index("ix_devices_organisation_id_hostname")
        for name in reversed(TIME_COLUMNS):
            batch.drop_column(name)
        batch.drop_column("search_text")
        batch.drop_column("inventory")
        for name, _ in reversed(TEXT_COLUMNS):
            batch.drop_column(name)
