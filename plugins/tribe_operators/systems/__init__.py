"""System adapters: what the sync steps need from each side, on top of the hooks.

A source adapter extracts changed records (and writes back numbering); a target adapter
finds, creates and updates. A new accounting system adds one hook, its adapters and a
mapping folder.
"""
from __future__ import annotations

from tribe_operators.systems.poweroffice import PowerOfficeSource, PowerOfficeTarget
from tribe_operators.systems.tribe import TribeTarget
from tribe_operators.systems.tribe_source import TribeSource

__all__ = ["SOURCES", "TARGETS", "PowerOfficeSource", "PowerOfficeTarget", "TribeSource", "TribeTarget"]

SOURCES = {"poweroffice": PowerOfficeSource, "tribe": TribeSource}
TARGETS = {"poweroffice": PowerOfficeTarget, "tribe": TribeTarget}
