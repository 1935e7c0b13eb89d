"""The Slack assistant's own table (assistant.assignments): who works a claim now.

Kept apart from schema.py so the assistant owns it; migration 0010 creates it. One row per claim
(the latest "Assign to me" wins); the history of who took it is in the actions audit table.
No PHI: a claim reference and the staff member's actor id and name.
"""

from __future__ import annotations

import sqlalchemy as sa

from claims.ledger.schema import UTCDateTime, metadata

ACTOR_MAX = 100

assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("claim_pk", sa.Integer, sa.ForeignKey("claims.id", ondelete="CASCADE"), nullable=False, unique=True),
    sa.Column("assignee", sa.String(ACTOR_MAX), nullable=False, index=True),
    sa.Column("assignee_name", sa.String(ACTOR_MAX), nullable=False),
    sa.Column("assigned_at", UTCDateTime, nullable=False),
)
