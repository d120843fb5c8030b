"""An ASGI app that imports and builds the real one on its first request.

Airflow loads plugins in every component (scheduler, workers, DAG processor), but only the API
server serves HTTP: there the first webhook builds the app; everywhere else nothing is built.
"""
from __future__ import annotations

import importlib
import threading
from typing import Any

__all__ = ["LazyApp"]


class LazyApp:
    """``LazyApp("package.module:factory")`` behaves as ``factory()`` once called."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._app: Any = None
        self._lock = threading.Lock()

    def build(self) -> Any:
        with self._lock:
            if self._app is None:
                module, _, factory = self.target.partition(":")
                self._app = getattr(importlib.import_module(module), factory)()
            return self._app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        app = self._app if self._app is not None else self.build()
        await app(scope, receive, send)
