"""``[core] hostname_callable`` of the live stack's Celery workers: each reports the name it was
started with (``TRIBE_SYNC_LIVE_WORKER``), so a task instance's ``hostname`` says which worker
ran it — both run on this one machine, where the real host name would be the same."""
from __future__ import annotations

import os
import socket

__all__ = ["hostname"]


def hostname() -> str:
    return os.environ.get("TRIBE_SYNC_LIVE_WORKER") or socket.getfqdn()
