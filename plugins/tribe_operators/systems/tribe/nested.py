"""Tribe's relationship sets carry their child record under a navigation (a contact's person):
which entity set each such navigation holds (read by the source, written by the target)."""
from __future__ import annotations

__all__ = ["NESTED_SETS"]

NESTED_SETS = {"Person": "Relation_Person", "Organization": "Relation_Organization"}
