"""Workspaces, their members' roles, the audit history and comments; every dataset belongs to a workspace.

The datasets stored until now go to the workspace "default", which a single-user install never has to know about.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

DEFAULT_WORKSPACE = "default"


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        f"INSERT INTO workspaces (id, name, created_at) VALUES ('{DEFAULT_WORKSPACE}', 'Default', CURRENT_TIMESTAMP)"
    )
    op.create_table(
        "memberships",
        sa.Column("workspace_id", sa.String(40), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(10), nullable=False),
    )
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("workspace_id", sa.String(40), nullable=False, server_default=DEFAULT_WORKSPACE))
        batch.create_index("ix_datasets_workspace_id", ["workspace_id"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.String(40), nullable=False, index=True),
        sa.Column("dataset_id", sa.String(16), nullable=True, index=True),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("before_json", sa.Text(), nullable=True),
        sa.Column("after_json", sa.Text(), nullable=True),
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.String(16), sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("target_kind", sa.String(40), nullable=False),
        sa.Column("target_key", sa.Text(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Index("ix_comments_target", "dataset_id", "target_kind", "target_key"),
    )


def downgrade() -> None:
    op.drop_table("comments")
    op.drop_table("audit")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_index("ix_datasets_workspace_id")
        batch.drop_column("workspace_id")
    op.drop_table("memberships")
    op.drop_table("workspaces")
