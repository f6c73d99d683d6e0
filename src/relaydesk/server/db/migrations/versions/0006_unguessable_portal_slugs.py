"""unguessable portal slugs: default portals made at portal-<organisation id> get 128 random bits,
so that nobody can list the organisations of a server by trying addresses (issue 11, 19c)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:50:00
"""

import re
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

portals = sa.table(
    "portals",
    sa.column("id", sa.Integer),
    sa.column("organisation_id", sa.Integer),
    sa.column("slug", sa.String),
    sa.column("is_default", sa.Boolean),
)
GUESSABLE = re.compile(r"portal-\d+")


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(portals.c.id, portals.c.slug)).all()
    for portal_id, slug in rows:
        if GUESSABLE.fullmatch(slug):
            connection.execute(
                portals.update()
                .where(portals.c.id == portal_id)
                .values(slug=secrets.token_urlsafe(16))
            )


def downgrade() -> None:
    # The old addresses come back for default portals (links sent meanwhile stop working).
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(portals.c.id, portals.c.organisation_id).where(portals.c.is_default)
    ).all()
    for portal_id, organisation_id in rows:
        connection.execute(
            portals.update()
            .where(portals.c.id == portal_id)
            .values(slug=f"portal-{organisation_id}")
        )
