"""installed agents: pending remote uninstall, self-service and attended conversion (issue 13)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("installers") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(length=20), nullable=False, server_default="installer")
        )
        batch.add_column(sa.Column("nickname", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("jump_password_hash", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("state", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("installers") as batch:
        batch.drop_column("outcome")
        batch.drop_column("state")
        batch.drop_column("jump_password_hash")
        batch.drop_column("session_id")
        batch.drop_column("nickname")
        batch.drop_column("purpose")
