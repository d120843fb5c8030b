"""HTTPS for simulators: a throwaway test CA (``trustme``) and a TLS ``ServerThread``.

Some unchanged third-party clients speak HTTPS only and verify the certificate (the ``exactonline``
package). They trust the test CA when ``SSL_CERT_FILE`` names its PEM file, since they build their
context with ``ssl.create_default_context()`` and OpenSSL reads that variable on every load.
"""
from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from sandbox.common.server import ServerThread

__all__ = ["TestCA", "TlsServerThread"]


@dataclass
class TestCA:
    """A CA and one server certificate for 127.0.0.1/localhost, written to a temporary folder."""

    ca_file: Path      # the CA certificate (PEM): what SSL_CERT_FILE / verify= should name
    cert_file: Path    # the server certificate chain (PEM)
    key_file: Path     # the server key (PEM)

    __test__ = False  # not a pytest test class

    @classmethod
    def create(cls, folder: Path | None = None, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TestCA:
        import trustme  # a test dependency only

        folder = Path(folder or tempfile.mkdtemp(prefix="sim-ca-"))
        ca = trustme.CA()
        cert = ca.issue_cert(*hosts)
        out = cls(folder / "ca.pem", folder / "server.pem", folder / "server.key")
        ca.cert_pem.write_to_path(str(out.ca_file))
        cert.cert_chain_pems[0].write_to_path(str(out.cert_file))
        for extra in cert.cert_chain_pems[1:]:
            extra.write_to_path(str(out.cert_file), append=True)
        cert.private_key_pem.write_to_path(str(out.key_file))
        return out

    def remove(self) -> None:
        """Delete the files (and their folder when it holds nothing else)."""
        for path in (self.ca_file, self.cert_file, self.key_file):
            path.unlink(missing_ok=True)
        try:
            self.ca_file.parent.rmdir()
        except OSError:
            pass


class TlsServerThread(ServerThread):
    """``ServerThread`` serving HTTPS with ``ca``'s server certificate."""

    def __init__(self, app: Any, ca: TestCA, host: str = "127.0.0.1", port: int | None = None) -> None:
        super().__init__(app, host=host, port=port)
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning", access_log=False,
                                lifespan="off", timeout_keep_alive=30, ssl_certfile=str(ca.cert_file),
                                ssl_keyfile=str(ca.key_file))
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.run, daemon=True, name=f"sim-tls:{self.port}")
        self.ca = ca

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"
