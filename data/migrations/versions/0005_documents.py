"""The documents table: every saved version of what a team writes about a dataset, whatever its kind.

Journey definitions, designed journeys and improvement actions are all versioned the same way (never overwritten,
newest in force, each version with its author and time), so they share one table keyed by (dataset, kind, key,
version); the journey definitions saved until now move into it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JOURNEY_DEFINITION = "journey_definition"


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("dataset_id", sa.String(16), sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("kind", sa.String(40), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO documents (dataset_id, kind, key, version, payload_json, author, saved_at) "
        f"SELECT dataset_id, '{JOURNEY_DEFINITION}', '', version, payload_json, author, saved_at "
        "FROM journey_definitions"
    )
    op.drop_table("journey_definitions")


def downgrade() -> None:
    op.create_table(
        "journey_definitions",
        sa.Column("dataset_id", sa.String(16), sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO journey_definitions (dataset_id, version, payload_json, author, saved_at) "
        "SELECT dataset_id, version, payload_json, author, saved_at "
        f"FROM documents WHERE kind = '{JOURNEY_DEFINITION}'"
    )
    op.drop_table("documents")
