"""Forget what a source deleted: its links go, the records in Tribe stay.

Tribe's help articles: deleting in one system never deletes in the other. A source that logs
its deletions (``protocols.DeletionSource``: Exact Online's ``sync/Deleted``) is read after the
committed cursor; every import stream reading a resource a deletion names drops the link (and
the role relationship's link) of that record. The Tribe record is then unlinked: a later change
to it in Tribe is exported as a new record (found first by its number, like any unlinked one),
and the deleted record's id is never matched again.
"""
from __future__ import annotations

import logging
from typing import Any

from tribe_operators.mapping.spec import StreamSpec
from tribe_operators.store.links import LinkStore
from tribe_operators.store.watermarks import Cursors

__all__ = ["CURSOR_ENTITY", "forget_deleted"]

log = logging.getLogger(__name__)
CURSOR_ENTITY = "deleted"  # the deletion log's own cursor, beside the streams'


def forget_deleted(engine: Any, integration: str, scope: str, source: Any, streams: list[StreamSpec], *,
                   run_id: str, dry_run: bool = False) -> dict[str, int]:
    """Read the deletions after the committed cursor and drop the links they end; counts of
    deletions read, links dropped, and the cursor reached. The cursor advances page by page,
    each page's links dropped first: a stop half-way reads the rest next time."""
    by_resource: dict[str, list[StreamSpec]] = {}
    for spec in streams:
        by_resource.setdefault(spec.source.resource, []).append(spec)
    cursors, links = Cursors(engine, integration, scope), LinkStore(engine, integration, scope)
    cursor = cursors.get(CURSOR_ENTITY, "import") or 0
    counts = {"deleted": 0, "unlinked": 0, "cursor": cursor}
    for page, highest in source.deleted_after(cursor, sorted(by_resource)):
        for resource, record_id in page:
            counts["deleted"] += 1
            for spec in by_resource.get(resource, []):
                entities = [spec.target.link_entity] + ([f"{spec.target.link_entity}_relationship"]
                                                        if spec.target.relationship is not None else [])
                for entity in entities:
                    if dry_run:
                        counts["unlinked"] += links.to_internal(entity, record_id) is not None
                    elif links.unbind(entity, external_id=record_id):
                        counts["unlinked"] += 1
                        log.info("%s %s %s was deleted in %s: link dropped, the Tribe record stays", integration,
                                 entity, record_id, spec.source.system)
        counts["cursor"] = highest
        if not dry_run:
            cursors.advance(CURSOR_ENTITY, "import", highest, run_id)
    return counts
