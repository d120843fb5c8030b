"""Scan the logs the test suite left on disk for secrets and access tokens.

``python -m tests.log_scan [PATH ...]`` — exits 1 naming file and line of every hit, 0 when
clean. ``scripts/test.sh`` runs it after the whole suite.

What is scanned (no ``PATH``): every file under a ``logs`` or ``component-logs`` folder in the
test Airflow homes, ``.airflow-test/*/`` (``TRIBE_SYNC_TEST_AIRFLOW_HOME`` if set, as in
``tests/conftest.py``) — the pytest workers' homes, where ``tests/chaos/test_log_masking.py``
writes its task logs, and a live-suite home if one is placed there. The live suite
(``tests/live``) runs Airflow on a temporary home that ``LiveAirflow.stop()`` deletes at the end
of the package, so its task logs are only scanned when they are kept (give the harness a
``workdir``) and found here or passed as ``PATH``.

What counts as a hit:

* the fixed secrets of the test connections (``tests.fixtures.simulators.connection_env``):
  Tribe's client secret, PowerOffice's client key, subscription key and application key, and
  both client credentials as HTTP Basic (base64 of ``id:secret``);
* anything shaped like a token the simulators issue. They are random and issued in-process per
  test, so they are matched by shape: PowerOffice's JWT-shaped token
  (``sandbox/poweroffice/state.py: issue_token``, a fixed header), Tribe's
  ``secrets.token_urlsafe(32)`` (``sandbox/tribe/auth.py``: 43 URL-safe characters, mixed case);
* any unmasked ``Bearer`` credential, any HTTP Basic credential that decodes to ``id:secret``,
  and webhook secrets as the tests make them (``whsec-`` + 48 hex digits).

Airflow's masker writes ``***`` (and ``eyJ***`` for JWTs), which none of these match.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Hit", "default_roots", "find_secrets", "known_secrets", "main", "scan_files", "scan_paths"]

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR_NAMES = ("logs", "component-logs")

_TOKEN_CHARS = r"A-Za-z0-9_\-"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# PowerOffice simulator: base64url(header) "." base64url(claims) "." base64url(32 random bytes),
# the header being json.dumps({"alg": "HS256", "typ": "JWT"}) (sandbox/poweroffice/state.py).
_PO_HEADER = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
PATTERNS: dict[str, re.Pattern[str]] = {
    "PowerOffice access token": re.compile(re.escape(_PO_HEADER) + rf"\.eyJ[{_TOKEN_CHARS}]{{4,}}"),
    # Tribe simulator: secrets.token_urlsafe(32) = exactly 43 URL-safe characters, mixed case
    # (checked in find_secrets: keeps snake_case names out). A neighbouring "+" or "/" makes it
    # a piece of standard base64, a "=" after it a padded value (a Fernet key): not a token.
    "Tribe-shaped access token": re.compile(
        rf"(?<![{_TOKEN_CHARS}+/])[{_TOKEN_CHARS}]{{43}}(?![{_TOKEN_CHARS}+/=])"),
    "unmasked Bearer credential": re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=\-]{16,}", re.IGNORECASE),
    "webhook secret": re.compile(r"\bwhsec-[0-9a-f]{48}\b"),
}
_TRIBE = "Tribe-shaped access token"
_BASIC = re.compile(r"\bBasic\s+([A-Za-z0-9+/]{8,}={0,2})")


def _mixed_case(value: str) -> bool:
    return any(c.isupper() for c in value) and any(c.islower() for c in value)


def known_secrets() -> dict[str, str]:
    """``{value: description}``: the secrets of the connections the tests use, as written in
    ``tests/fixtures/simulators.py`` (and in HTTP Basic form)."""
    from tests.fixtures.simulators import connection_env

    env = connection_env("http://tribe.invalid", "http://poweroffice.invalid")
    tribe = json.loads(env["AIRFLOW_CONN_TRIBE_DEFAULT"])
    po = json.loads(env["AIRFLOW_CONN_POWEROFFICE_DEFAULT"])
    found = {
        tribe["password"]: "Tribe client secret",
        po["password"]: "PowerOffice client key",
        po["extra"]["subscription_api_key"]: "PowerOffice subscription key",
        po["login"]: "PowerOffice application key",
    }
    for name, conn in (("Tribe", tribe), ("PowerOffice", po)):
        basic = base64.b64encode(f"{conn['login']}:{conn['password']}".encode()).decode()
        found[basic] = f"{name} client credentials (HTTP Basic)"
    # A link database with a password (TRIBE_SYNC_TEST_PG) is a secret too.
    from urllib.parse import urlsplit

    password = urlsplit(os.environ.get("TRIBE_SYNC_TEST_PG", "")).password
    if password and len(password) > 4:
        found[password] = "link database password"
    return found


@dataclass(frozen=True)
class Hit:
    path: Path
    line: int
    what: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}: {self.excerpt}"


def _basic_credentials(text: str) -> Iterator[re.Match[str]]:
    for match in _BASIC.finditer(text):
        try:
            decoded = base64.b64decode(match.group(1), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            continue
        if ":" in decoded and decoded.isprintable():
            yield match


def find_secrets(text: str, secrets: dict[str, str] | None = None,
                 extra: Iterable[str] = ()) -> list[tuple[str, tuple[int, int]]]:
    """Every secret or token-shaped value in ``text``: ``[(what, (start, end))]``.

    Args:
        text: One line of a log.
        secrets: ``{value: description}``; default :func:`known_secrets`.
        extra: More exact values (e.g. the tokens a test saw the simulators issue).
    """
    secrets = known_secrets() if secrets is None else secrets
    found: list[tuple[str, tuple[int, int]]] = []
    for value, what in [*secrets.items(), *((value, "issued access token") for value in extra)]:
        start = text.find(value)
        while value and start >= 0:
            found.append((what, (start, start + len(value))))
            start = text.find(value, start + 1)
    for what, pattern in PATTERNS.items():
        found.extend((what, m.span()) for m in pattern.finditer(text) if what != _TRIBE or _mixed_case(m.group()))
    found.extend(("HTTP Basic credential", m.span()) for m in _basic_credentials(text))
    return found


def _excerpt(text: str, spans: list[tuple[int, int]], width: int = 60) -> str:
    """The line around the first hit with every hit blanked out (the report must not re-leak)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    shown = text
    for start, end in reversed(merged):
        shown = shown[:start] + "[HIT]" + shown[end:]
    at = shown.find("[HIT]")
    return ("…" if at > width else "") + shown[max(0, at - width):at + width].strip() + "…"


def scan_files(files: Iterable[Path], secrets: dict[str, str] | None = None,
               extra: Iterable[str] = ()) -> tuple[list[Hit], int]:
    """``(hits, files scanned)`` over ``files``, line by line (any encoding, binary tolerated)."""
    secrets = known_secrets() if secrets is None else secrets
    extra = [value for value in extra if value]
    hits: list[Hit] = []
    count = 0
    for path in files:
        count += 1
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                found = find_secrets(line, secrets, extra)
                if found:
                    whats = sorted({what for what, _ in found})
                    hits.append(Hit(path, number, ", ".join(whats), _excerpt(line, [s for _, s in found])))
    return hits, count


def default_roots() -> list[Path]:
    """The log folders of the test Airflow homes (``.airflow-test/*/logs`` and the like)."""
    base = Path(os.environ.get("TRIBE_SYNC_TEST_AIRFLOW_HOME", ROOT / ".airflow-test"))
    if not base.is_dir():
        return []
    return sorted(p for p in base.rglob("*") if p.is_dir() and p.name in LOG_DIR_NAMES
                  and not any(parent.name in LOG_DIR_NAMES for parent in p.parents))


def _files(roots: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files.extend(sorted(p for p in root.rglob("*") if p.is_file()))
    return files


def scan_paths(roots: Iterable[Path], extra: Iterable[str] = ()) -> tuple[list[Hit], int]:
    """Scan every file under ``roots`` (files or folders)."""
    return scan_files(_files(roots), extra=extra)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return 0
    roots = [Path(a) for a in args] if args else default_roots()
    missing = [r for r in roots if not r.exists()]
    if missing:
        print(f"log scan: no such file or folder: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    hits, count = scan_paths(roots)
    where = ", ".join(str(r) for r in roots) or "(no log folder)"
    if hits:
        print(f"log scan: {len(hits)} line(s) with a secret or token in {count} file(s) under {where}:",
              file=sys.stderr)
        for hit in hits[:200]:
            print(f"  {hit}", file=sys.stderr)
        if len(hits) > 200:
            print(f"  … and {len(hits) - 200} more", file=sys.stderr)
        return 1
    print(f"log scan: no secret or token in {count} file(s) under {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
