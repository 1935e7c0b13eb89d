"""Who works a claim now: "Assign to me" (a status card's or an alert's button) and `/claim queue`.

One assignee per claim; taking a claim someone else holds moves it (the previous holder is told in
the answer, and the audit log keeps both). Taking a claim one already holds changes nothing, so a
double click is harmless.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from claims.ledger import ClaimNotFoundError, Ledger
from claims.ledger.assistant_schema import assignments
from claims.ledger.schema import claims
from claims.models import utc_now
from claims.team import Actor


class Assignment(BaseModel):
    model_config = ConfigDict(frozen=True)

    claim_id: str
    assignee: str  # the actor id ("slack:U...")
    assignee_name: str
    assigned_at: datetime
    previous_name: str | None = None  # who held it before this assignment, when someone else did
    changed: bool = True


def assign_to(ledger: Ledger, claim_id: str, actor: Actor, now: datetime | None = None) -> Assignment:
    """Give the claim to `actor`. Raises ClaimNotFoundError for an id the ledger lacks."""
    at = now or utc_now()
    with ledger.engine.begin() as conn:
        pk = conn.execute(sa.select(claims.c.id).where(claims.c.claim_id == claim_id)).scalar()
        if pk is None:
            raise ClaimNotFoundError(claim_id)
        held = conn.execute(sa.select(assignments).where(assignments.c.claim_pk == pk)).first()
        if held is not None and held.assignee == actor.id:
            return Assignment(
                claim_id=claim_id,
                assignee=held.assignee,
                assignee_name=held.assignee_name,
                assigned_at=held.assigned_at,
                changed=False,
            )
        values = {"assignee": actor.id, "assignee_name": actor.name, "assigned_at": at}
        if held is None:
            conn.execute(assignments.insert().values(claim_pk=pk, **values))
        else:
            conn.execute(assignments.update().where(assignments.c.claim_pk == pk).values(**values))
    return Assignment(
        claim_id=claim_id,
        assignee=actor.id,
        assignee_name=actor.name,
        assigned_at=at,
        previous_name=None if held is None else held.assignee_name,
    )


def assignee_of(ledger: Ledger, claim_id: str) -> Assignment | None:
    query = (
        sa.select(assignments, claims.c.claim_id)
        .join(claims, claims.c.id == assignments.c.claim_pk)
        .where(claims.c.claim_id == claim_id)
    )
    with ledger.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return Assignment(
        claim_id=row.claim_id, assignee=row.assignee, assignee_name=row.assignee_name, assigned_at=row.assigned_at
    )


def claims_of(ledger: Ledger, actor: Actor, limit: int = 50) -> list[str]:
    """The claim ids assigned to `actor`, most recently taken first."""
    query = (
        sa.select(claims.c.claim_id)
        .join(assignments, assignments.c.claim_pk == claims.c.id)
        .where(assignments.c.assignee == actor.id)
        .order_by(assignments.c.assigned_at.desc(), claims.c.claim_id)
        .limit(limit)
    )
    with ledger.engine.connect() as conn:
        return [row.claim_id for row in conn.execute(query)]
