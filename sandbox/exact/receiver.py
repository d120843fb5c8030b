"""A webhook callback for tests and demos: records every POST Exact's simulator makes to it.

    with CallbackReceiver() as hook:           # http://127.0.0.1:<port>/exact/webhook
        ...subscribe hook.url...
        hook.wait_for(2)                       # the validation POST and one event
        hook.calls[1].body                     # raw bytes, as signed
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["CallbackReceiver", "ReceivedCall"]


@dataclass
class ReceivedCall:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived


class CallbackReceiver:
    """Answers ``status`` (200 by default; set ``self.status`` to make the callback fail)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.calls: list[ReceivedCall] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                receiver.calls.append(ReceivedCall(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                                   time.monotonic()))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="exact-callback")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/exact/webhook"

    def wait_for(self, n: int, timeout_s: float = 10.0) -> list[ReceivedCall]:
        deadline = time.monotonic() + timeout_s
        while len(self.calls) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.calls)

    def __enter__(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
