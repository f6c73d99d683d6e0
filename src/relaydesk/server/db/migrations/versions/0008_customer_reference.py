"""customer reference: the ticket number on the key and its session (issue 12, section 3)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("session_keys", "support_sessions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("reference", sa.String(100), nullable=False, server_default="")
            )


def downgrade() -> None:
    for table in ("support_sessions", "session_keys"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("reference")
