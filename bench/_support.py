"""Shared pieces of the cpu, memory and parse benchmarks.

* ``ensure_path()`` — the repository and ``plugins/`` on ``sys.path`` (also in subprocesses);
* ``scratch_database()`` — a throwaway PostgreSQL database, created and migrated with the test
  suite's own helpers (``tests.fixtures.postgres.Postgres``, ``store.engine.migrate``), dropped after;
* ``customer_inputs()`` / ``customer_records()`` — realistic PowerOffice customers, fast: a small
  Faker pool recombined, every Id, number, org number, e-mail address and phone number unique;
* ``render_once_poweroffice()`` — a PowerOffice simulator state that renders each record once;
* ``PgBackendCpu`` — CPU time of the PostgreSQL backends serving an engine (read from ``/proc``);
* ``Stopwatch`` — process CPU + backend CPU + wall time of a block.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import random
import re
import sys
import time
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["ROOT", "COUNTRIES", "PgBackendCpu", "ServerProcess", "Stopwatch", "customer_inputs", "customer_records",
           "ensure_path", "render_once_poweroffice", "scratch_database", "tribe_id"]

# Tribe's country list as the Tribe target's ``lookup_table("Datastore_Country", "Code")`` returns it.
COUNTRIES = {code: str(uuid.uuid5(uuid.NAMESPACE_URL, f"tribe:country:{code}"))
             for code in ("NO", "SE", "DK", "FI", "NL", "DE", "GB", "US")}


def ensure_path() -> None:
    for path in (ROOT, ROOT / "plugins"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def tribe_id(kind: str, key: Any) -> str:
    """A deterministic Tribe-style id (lower-case UUID), so two runs produce the same rows."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"tribe:{kind}:{key}"))


# -- the link database -----------------------------------------------------------------------
@contextlib.contextmanager
def scratch_database(label: str) -> Iterator[Any]:
    """``(engine, url)`` of a new, migrated database ``tribe_sync_bench_<label>_<pid>``; dropped after."""
    ensure_path()
    from tests.fixtures.postgres import Postgres
    from tribe_operators.store.engine import dispose_all, engine_for, migrate

    postgres = Postgres()
    postgres.check()
    name = f"tribe_sync_bench_{label}_{os.getpid()}"
    url = postgres.create(name)
    try:
        engine = engine_for(url=url)
        migrate(engine)
        yield engine, url
    finally:
        dispose_all()
        postgres.drop(name)
        postgres.dispose()


class PgBackendCpu:
    """CPU seconds (user + system) of every PostgreSQL backend an engine has opened.

    Each new pooled connection reports its ``pg_backend_pid()``; the backends' CPU counters
    are read from ``/proc`` (the server must run on this machine). ``available`` is False when
    they cannot be read, and the figures then say so instead of pretending.
    """

    def __init__(self, engine: Any) -> None:
        import psutil
        import sqlalchemy as sa

        self._psutil = psutil
        self.procs: dict[int, Any] = {}
        self.last: dict[int, float] = {}
        self.available = True

        @sa.event.listens_for(engine, "connect")
        def _remember(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT pg_backend_pid()")
            self._track(cursor.fetchone()[0])
            cursor.close()

        engine.dispose()  # connections made before we listened are replaced by tracked ones

    def _track(self, pid: int) -> None:
        try:
            self.procs[pid] = self._psutil.Process(pid)
            self.procs[pid].cpu_times()
        except (self._psutil.Error, OSError):
            self.available = False

    def seconds(self) -> float:
        """Total CPU of the tracked backends so far (a closed one keeps its last reading)."""
        for pid, proc in self.procs.items():
            try:
                times = proc.cpu_times()
                self.last[pid] = times.user + times.system
            except (self._psutil.Error, OSError):
                pass
        return sum(self.last.values())


@dataclass
class Stopwatch:
    """``with watch: …`` adds process CPU, backend CPU and wall seconds of the block."""

    backend: PgBackendCpu | None = None
    cpu: float = 0.0
    db: float = 0.0
    wall: float = 0.0
    excluded: float = 0.0  # CPU of stand-ins for the remote side, subtracted by the caller
    _start: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0), repr=False)

    def __enter__(self) -> Stopwatch:
        self._start = (time.process_time(), self.backend.seconds() if self.backend else 0.0, time.perf_counter())
        return self

    def __exit__(self, *exc: object) -> None:
        cpu, db, wall = self._start
        self.cpu += time.process_time() - cpu
        self.db += (self.backend.seconds() if self.backend else 0.0) - db
        self.wall += time.perf_counter() - wall

    @property
    def total(self) -> float:
        """Our process's CPU minus the stand-ins', plus the database backends' CPU."""
        return self.cpu - self.excluded + self.db

    def per_record(self, n: int) -> dict[str, float]:
        ms = 1000 / max(n, 1)
        return {"cpu_ms": round((self.cpu - self.excluded) * ms, 4), "db_ms": round(self.db * ms, 4),
                "total_ms": round(self.total * ms, 4), "wall_ms": round(self.wall * ms, 4)}


# -- realistic PowerOffice customers ----------------------------------------------------------
_SUFFIXES = ["AS", "AS", "AS", "ASA", "ANS", "DA", "Holding AS", "Eiendom AS", "Bygg AS", "Consulting AS",
             "Regnskap AS", "Transport AS", "Invest AS", "og Sønner AS", "Handel AS"]
_FOREIGN = [("SE", "Stockholm", "111 22"), ("DK", "København", "1050"), ("FI", "Helsinki", "00100"),
            ("NL", "Utrecht", "3511 AB"), ("DE", "Hamburg", "20095"), ("GB", "London", "EC1A 1BB")]


def _slug(text: str) -> str:
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", text) or "firma"


def _phone(rng: random.Random) -> str:
    """Norwegian numbers the way people type them (some landlines, mostly mobiles)."""
    first = rng.choice("4499923567")
    digits = first + "".join(rng.choice("0123456789") for _ in range(7))
    style = rng.randrange(5)
    if style == 0:
        return f"+47 {digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}"
    if style == 1:
        return f"{digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}"
    if style == 2:
        return f"{digits[:3]} {digits[3:5]} {digits[5:]}"
    return digits


def customer_inputs(n: int, *, rng_seed: int = 11, bad_every: int = 200, start_id: int = 5_100_000
                    ) -> Iterator[dict[str, Any]]:
    """``n`` PowerOffice customers (companies) as fields for ``PowerOfficeState.insert_customer``.

    Names, streets and cities come from a small Faker (Norwegian) pool, recombined; Id, Number,
    organisation number, e-mail domain and phone number are unique per record, so no cache can
    shortcut them. About 95 % have an e-mail address, 90 % a phone number, 70 % a website, 6 %
    a foreign address; one in ``bad_every`` is bad the way real data is (no name, a failing
    organisation number, a country Tribe does not know, an unreadable e-mail address).
    """
    ensure_path()
    from sandbox.poweroffice import valid_orgnr
    from sandbox.poweroffice.seed import _faker

    fake = _faker("nb_NO", rng_seed)
    rng = random.Random(rng_seed)
    last_names = list(dict.fromkeys(fake.last_name() for _ in range(400)))
    streets = list(dict.fromkeys(fake.street_name() for _ in range(300)))
    places = [(fake.postcode(), fake.city()) for _ in range(300)]
    for i in range(n):
        style = rng.randrange(4)
        a, b, c = rng.sample(last_names, 3)
        name = (f"{a} {rng.choice(_SUFFIXES)}" if style < 2 else f"{a} og {b} {rng.choice(_SUFFIXES)}"
                if style == 2 else f"{a}, {b} og {c}")
        slug = f"{_slug(name)}{i}"
        number = 10_000 + i
        if rng.random() < 0.06:
            country, city, zip_code = rng.choice(_FOREIGN)
            orgnr = None
        else:
            country, (zip_code, city) = "NO", rng.choice(places)
            orgnr = valid_orgnr(rng)
        fields: dict[str, Any] = {
            "Id": start_id + i, "Number": number, "ExternalNumber": 500_000 + i, "Name": name, "LegalName": name,
            "OrganizationNumber": orgnr,
            "EmailAddress": f"{rng.choice(['post', 'firmapost', 'kontakt', 'faktura'])}@{slug}.no"
            if rng.random() < 0.95 else None,
            "PhoneNumber": _phone(rng) if rng.random() < 0.9 else None,
            "WebsiteUrl": rng.choice([f"https://www.{slug}.no", f"www.{slug}.no", f"{slug}.no"])
            if rng.random() < 0.7 else None,
            "MailAddress": {"AddressLine1": f"{rng.choice(streets)} {rng.randint(1, 140)}{rng.choice(['', '', '', 'B'])}",
                            "ZipCode": zip_code, "City": city, "CountryCode": country},
            "InvoiceDeliveryType": rng.choice(["PdfByEmail", "PdfByEmail", "EHF", "Print"]),
            "IsArchived": rng.random() < 0.05,
        }
        if bad_every and i % bad_every == bad_every - 1:
            kind = (i // bad_every) % 4
            if kind == 0:
                fields["Name"] = fields["LegalName"] = ""
            elif kind == 1:
                fields["OrganizationNumber"] = "123456789"
            elif kind == 2:
                fields["MailAddress"] = {**fields["MailAddress"], "CountryCode": "IS"}
            else:
                fields["EmailAddress"] = f"post(at){slug}.no"
        yield fields


def customer_records(n: int, **kwargs: Any) -> list[dict[str, Any]]:
    """``n`` customers exactly as the PowerOffice simulator serves them (its v2 DTO, JSON-ready)."""
    ensure_path()
    from sandbox.poweroffice import PowerOfficeState

    state = PowerOfficeState(rate_limit=0)
    for fields in customer_inputs(n, **kwargs):
        state.insert_customer(**fields)
    return state.all("customers")


# -- Airflow, kept away from the user's own ---------------------------------------------------
def airflow_env(home: str | Path) -> dict[str, str]:
    """Environment for a process that may import Airflow: a throwaway home and SQLite DB."""
    return {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{Path(home) / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"), "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"}


def isolate_airflow() -> None:
    """Before this process first imports Airflow (tribe_operators does): a throwaway home."""
    if "airflow" in sys.modules:
        return
    import atexit
    import shutil
    import tempfile

    home = tempfile.mkdtemp(prefix="tribe_sync_bench_airflow_")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ.update(airflow_env(home))


# -- Tribe, the remote side, in memory ---------------------------------------------------------
def tribe_stand_in(index: dict[str, dict[tuple[Any, ...], list[dict[str, Any]]]] | None = None) -> Any:
    """A ``TribeTarget`` without HTTP: ``find`` answers from ``index`` ({"DebtorNumber": {(value,):
    [records]}}), ``create`` hands out ids and keeps nothing (its memory does not grow with the
    records), the relationship calls answer at once; ``differs`` is Tribe's real one. The CPU of
    ``find`` is summed in ``cpu`` (the remote side: excluded from measurements)."""
    ensure_path()
    from tribe_operators.protocols import RELATIONSHIP_ID as relationship_key
    from tribe_operators.systems.tribe import target as tribe_module

    index = index or {}

    class _Source:
        system = "tribe"

        def fetch(self, spec: Any, ids: Any) -> list[Any]:
            return []  # nothing read back: the counterpart hashes are skipped

        def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
            return dict(COUNTRIES)

    class TribeStandIn(tribe_module.TribeTarget):
        def __init__(self) -> None:
            super().__init__(hook=None)  # type: ignore[arg-type]
            self.cpu = 0.0
            self.calls = 0
            self.created = 0
            self._numbers = itertools.count(1)  # load writes from several threads: next() is atomic

        def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
            return dict(COUNTRIES)

        def find(self, spec: Any, fields: list[str], values: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
            started = time.process_time()
            table = index.get("+".join(fields), {})
            found = {v: table[v] for v in dict.fromkeys(values) if v in table}
            self.calls += 1
            self.cpu += time.process_time() - started
            return found

        def fetch(self, spec: Any, ids: Any, hints: Any = None) -> dict[str, dict[str, Any]]:
            wanted = {str(i) for i in ids}
            return {r["ID"]: r for table in index.values() for rs in table.values() for r in rs if r["ID"] in wanted}

        def create(self, spec: Any, fields: dict[str, Any]) -> dict[str, Any]:
            number = next(self._numbers)
            self.created = max(self.created, number)
            created = {**fields, "ID": tribe_id("created", number)}
            if spec.target.relationship is not None and relationship_key:
                created[relationship_key] = tribe_id("relationship", number)
            return created

        def update(self, spec: Any, tribe_id_: str, fields: dict[str, Any], current: dict[str, Any] | None) -> None:
            return None

        def find_relationship(self, spec: Any, tribe_id_: str) -> str | None:
            return None

        def create_relationship(self, spec: Any, tribe_id_: str) -> str | None:
            return tribe_id("relationship", tribe_id_) if spec.target.relationship is not None else None

        def as_source(self) -> Any:
            return _Source()

    return TribeStandIn()


class ServerProcess:
    """A simulator in a process of its own (``python -m <module> serve <n>``): started, read until
    it prints the line starting with ``ready``, stopped by closing its stdin."""

    def __init__(self, module: str, n: int, ready: str) -> None:
        import subprocess

        self.proc = subprocess.Popen([sys.executable, "-m", module, "serve", str(n)], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(ready):
                self.words = line.split()[1:]
                return
        raise RuntimeError(f"{module} did not start (exit code {self.proc.wait()})")

    def stop(self) -> None:
        import subprocess

        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # only the process we started
            self.proc.wait()


def render_once_poweroffice(**state_kwargs: Any) -> Any:
    """A PowerOffice simulator state that renders each stored record once: its list endpoint
    renders every record for every page, which would make the simulator, not the client under
    measurement, the bottleneck. Records do not change during a benchmark; a changed one
    carries a new timestamp and is rendered again."""
    from sandbox.poweroffice import PowerOfficeState

    class RenderOncePowerOffice(PowerOfficeState):
        def render(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
            key = (kind, id(record), record.get("LastChangedDateTimeOffset"))
            cache = self.__dict__.setdefault("_rendered", {})
            if key not in cache:
                cache[key] = super().render(kind, record)
            return cache[key]

    return RenderOncePowerOffice(**state_kwargs)
