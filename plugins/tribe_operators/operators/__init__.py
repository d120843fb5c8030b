"""Thin operators over the sync steps: template fields in, counts out (XCom)."""
from __future__ import annotations

from tribe_operators.operators.stream import DedupeOperator, ExtractOperator, LoadOperator, MapOperator
from tribe_operators.operators.summary import SummaryOperator

__all__ = ["DedupeOperator", "ExtractOperator", "LoadOperator", "MapOperator", "SummaryOperator"]
