"""Load stage *echo*: hash what was just written as the opposite stream will read it.

The hash goes on the opposite side of the link: when the opposite stream reads our own write
back, its content hash matches and nothing travels back (no echo). A field the target side won
in a conflict is left out (its hash stays stale, so the winning value travels on).
"""
from __future__ import annotations

from typing import Any

from tribe_operators.exceptions import RecordError
from tribe_operators.mapping.engine import Mapper
from tribe_operators.sync.context import StepContext
from tribe_operators.sync.load.conflicts import newest_stamp

__all__ = ["counterpart_hashes"]


def counterpart_hashes(ctx: StepContext, target: Any, source: Any, written: dict[str, str],
                       answered: dict[str, dict[str, Any]] | None = None) -> None:
    """Store, for each ``{source id: target id}`` written, the opposite stream's hash of the
    target record (as the target answered the write, or read once for the chunk)."""
    name = ctx.spec.counterpart
    if not name or not written:
        return
    from tribe_operators.mapping.spec import load_stream

    other = load_stream(ctx.integration, name)
    adapters = {target.system: target, getattr(source, "system", None): source}
    mapper = Mapper(other, ctx.map_context(ctx.lookups(other, adapters)))  # links too: a product names its group
    side = "external_hash" if ctx.spec.direction == "import" else "tribe_hash"
    stamp_field = target.modified_field
    answered = {str(rid): rec for rid, rec in (answered or {}).items()}
    records = {str(tid): answered[str(tid)] for tid in written.values() if str(tid) in answered}
    unread = [tid for tid in written.values() if str(tid) not in records]
    records |= {rid: rec for rid, _, rec in (target.as_source().fetch(other, unread) if unread else [])}
    links = ctx.links.links_by_tribe(ctx.spec.target.link_entity, [
        tid if ctx.spec.direction == "import" else sid for sid, tid in written.items()])
    updated = []
    for source_id, target_id in written.items():
        tribe_id = target_id if ctx.spec.direction == "import" else source_id
        link, record = links.get(str(tribe_id)), records.get(str(target_id))
        if link is None or record is None:
            continue
        try:
            setattr(link, side, mapper.map(record).update_hash)
        except RecordError:
            setattr(link, side, None)  # the opposite stream will look at it properly
        if stamp_field and ctx.spec.direction == "import":  # the conflict check's "changed since"
            link.tribe_modified_at = newest_stamp(record, stamp_field)
        updated.append(link)
    ctx.links.bulk_bind(updated)
