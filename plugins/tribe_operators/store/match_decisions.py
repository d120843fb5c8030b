"""``match_decision``: a person's answer to a match by number held because the names differ —
"link anyway" (this contact *is* that record) or "create new" (it is not; make it a record of
its own). Dedupe reads the answers of the contacts it resolves and follows them on every run."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from tribe_operators.store.schema import match_decision
from tribe_operators.store.upsert import upsert

__all__ = ["CHOICES", "MatchDecision", "MatchDecisions"]

CHOICES = ("link", "create")


@dataclass(frozen=True)
class MatchDecision:
    choice: str  # link | create
    target_id: str | None  # the record "link" accepts


class MatchDecisions:
    def __init__(self, engine: sa.Engine, integration: str, scope: str = "default") -> None:
        self.engine = engine
        self.integration = integration
        self.scope = scope

    def decide(self, entity_set: str, source_id: str, choice: str, target_id: str | None, user: str) -> None:
        if choice not in CHOICES:
            raise ValueError(f"choice must be one of {', '.join(CHOICES)}, not {choice!r}")
        if choice == "link" and not target_id:
            raise ValueError("'link anyway' needs the record to link to")
        row = {"integration": self.integration, "scope": self.scope, "entity_set": entity_set,
               "source_id": str(source_id), "choice": choice, "target_id": target_id if choice == "link" else None,
               "decided_by": user, "decided_at": datetime.now(UTC)}
        with self.engine.begin() as conn:
            upsert(conn, match_decision, [row], conflict=["integration", "scope", "entity_set", "source_id"],
                   update=["choice", "target_id", "decided_by", "decided_at"])

    def all(self, entity_set: str) -> dict[str, MatchDecision]:
        """Every answer for this target set, by source id (a handful: each is a person's)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(match_decision.c.source_id, match_decision.c.choice,
                                          match_decision.c.target_id).where(
                match_decision.c.integration == self.integration, match_decision.c.scope == self.scope,
                match_decision.c.entity_set == entity_set))
            return {r.source_id: MatchDecision(r.choice, r.target_id) for r in rows}
