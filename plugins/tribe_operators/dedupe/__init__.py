"""Dedupe: which existing target record each source record is, decided before anything is written.

``keys`` — the normal form two key values are compared in; ``party`` — one answer per external
contact from the keys of all its roles; ``decide`` — create / update / link / skip per record.
"""
from tribe_operators.dedupe.decide import Decision, Deduper
from tribe_operators.dedupe.keys import key_tuple, normal_key
from tribe_operators.dedupe.party import PartyResolver, Resolution, party_roles

__all__ = ["Decision", "Deduper", "PartyResolver", "Resolution", "key_tuple", "normal_key", "party_roles"]
