"""System adapters: what the sync steps need from each side, on top of the hooks.

A source adapter extracts changed records; a target adapter finds, creates and updates.
Adding an accounting system adds one hook, one adapter module and a mapping folder.
"""
from __future__ import annotations

from tribe_operators.systems.poweroffice import PowerOfficeSource
from tribe_operators.systems.tribe import TribeTarget

__all__ = ["SOURCES", "TARGETS", "PowerOfficeSource", "TribeTarget"]

SOURCES = {"poweroffice": PowerOfficeSource}
TARGETS = {"tribe": TribeTarget}
