"""``OdooState``: one simulated Odoo server with one database, shared by the protocols, the
control API, seeders and tests.

One ``threading.RLock`` serialises calls (each RPC call is one transaction); tests may use the
Python API (``call``, ``insert``, ``read``...) from other threads at the same time.
"""
from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sandbox.common import Clock
from sandbox.odoo.access import SUPERUSER_ID, Env, naive_utc
from sandbox.odoo.auth import Credentials
from sandbox.odoo.faults import OdooFaultConfig
from sandbox.odoo.registry import build_registry
from sandbox.odoo.service import Service
from sandbox.odoo.store import Store
from sandbox.odoo.versions import profile

__all__ = ["ADMIN_LOGIN", "ADMIN_PASSWORD", "ADMIN_UID", "DEFAULT_API_KEY", "DEFAULT_DB", "OdooState"]

DEFAULT_DB = "sandbox"
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin"
ADMIN_UID = 2
DEFAULT_API_KEY = "5a9f0c7e3b2d4e6f8a1b3c5d7e9f0a2b4c6d8e0f"  # 160 bits as hex, like Odoo's keys


class OdooState:
    """A simulated Odoo server.

    Args:
        version: Server series, 17, 18 or 19 (fields, errors and protocols differ).
        db: The database name clients must send.
        clock: Simulated time (write_date, invoice dates, key expiry); tests move it.
        faults: Fault injection shared with the middleware and ``/_sandbox/faults``.
        check_vat: Validate ``res.partner.vat`` with python-stdnum (Odoo's base_vat).
        payments_match_immediately: Registered payments count as matched with the bank at once
            (invoice ``paid`` instead of ``in_payment``).
        partner_sequence: Number new top-level partners that come without a Reference (``ref``)
            with this prefix and a counter, as a partner-sequence module does (OCA
            ``partner_sequence``; [INFER] the exact module behaviour). None: no numbering.
    """

    def __init__(self, *, version: int | str = 17, db: str = DEFAULT_DB, clock: Clock | None = None,
                 faults: OdooFaultConfig | None = None, check_vat: bool = True,
                 payments_match_immediately: bool = False, partner_sequence: str | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock or Clock()
        self.faults = faults or OdooFaultConfig()
        self.db = db
        self.check_vat = check_vat
        self.payments_match_immediately = payments_match_immediately
        self.partner_sequence = partner_sequence
        self.service = Service(self)
        self.seed_args: dict[str, Any] | None = None
        self._counts: Counter[str] = Counter()
        self._calls: Counter[str] = Counter()
        self._build(version)

    def _build(self, version: int | str) -> None:
        with self.lock:
            self.profile = profile(version)
            self.registry = build_registry(self.profile)
            self.store = Store()
            self.credentials = Credentials()
            from sandbox.odoo.refdata import bootstrap

            self._transaction(lambda env: bootstrap(env))
            self.credentials.set_password(ADMIN_UID, ADMIN_PASSWORD)
            self.credentials.add_key(ADMIN_UID, "tribe-sync", DEFAULT_API_KEY)

    @property
    def version(self) -> int:
        return self.profile.major

    def set_version(self, version: int | str) -> None:
        """Become another series: the database is rebuilt (and re-seeded if it was seeded)."""
        with self.lock:
            self._build(version)
            if self.seed_args is not None:
                self.seed(**self.seed_args)

    def now(self) -> datetime:
        return naive_utc(self.clock.now())

    # ---- Python API (tests, seeders): the same ORM, one transaction per call ----------------
    def env(self, uid: int = ADMIN_UID, context: dict[str, Any] | None = None, *, su: bool = False) -> Env:
        return Env(self, uid, context, su=su)

    def _transaction(self, work: Any, uid: int = SUPERUSER_ID, context: dict[str, Any] | None = None) -> Any:
        return self.service.transaction(uid, "python", True, work, context)

    def call(self, model: str, method: str, *args: Any, uid: int = ADMIN_UID, **kwargs: Any) -> Any:
        """``execute_kw`` as ``uid`` without a protocol: ``state.call("res.partner", "search", [])``."""
        return self.service.execute(uid, model, method, list(args), kwargs)

    def insert(self, model: str, vals: dict[str, Any], **context: Any) -> int:
        """Create a record as superuser (all companies); returns its id."""
        from sandbox.odoo.writing import create

        return self._transaction(lambda env: create(env, model, [vals])[0], context=context)

    def read(self, model: str, rid: int, fields: list[str] | None = None) -> dict[str, Any]:
        """One record as ``read`` returns it with ``load=None`` (many2one as plain ids)."""
        from sandbox.odoo.reading import read

        return self._transaction(lambda env: read(env, env.registry[model], [rid], fields, None)[0])

    def search(self, model: str, domain: list | None = None, **context: Any) -> list[int]:
        from sandbox.odoo.search import search

        return self._transaction(lambda env: search(env, model, domain or []), context=context)

    def backdate(self, model: str, rid: int, when: datetime, *, created: bool = True) -> None:
        """Set ``write_date`` (and ``create_date``) of a record in the past (seeding history)."""
        with self.lock:
            changes = {"write_date": naive_utc(when)}
            if created:
                changes["create_date"] = naive_utc(when)
            self.store.update(model, rid, changes)

    # ---- users, keys, payments ---------------------------------------------------------------
    def add_user(self, login: str, password: str | None = None, *, name: str | None = None,
                 company_ids: list[int] | None = None, readonly: bool = False, totp: bool = False) -> int:
        """A user with access to ``company_ids`` (first = main company); ``readonly`` users may
        only read, ``totp`` users (2FA) need an API key over RPC."""
        from sandbox.odoo.writing import create

        companies = company_ids or [1]
        uid = self._transaction(lambda env: create(env, "res.users", [{
            "login": login, "name": name or login, "company_id": companies[0],
            "company_ids": [(6, 0, companies)]}])[0])
        with self.lock:
            self.store.update("res.users", uid, {"_readonly": readonly})
        if password:
            self.credentials.set_password(uid, password)
        if totp:
            self.credentials.totp_users.add(uid)
        return uid

    def add_api_key(self, uid: int = ADMIN_UID, name: str = "tribe-sync", key: str | None = None, *,
                    expires_in_s: float | None = None) -> str:
        """A new API key (scope rpc); ``expires_in_s`` counts on the simulated clock."""
        expires = self.now() + timedelta(seconds=expires_in_s) if expires_in_s is not None else None
        return self.credentials.add_key(uid, name, key, expires=expires)

    def register_payment(self, move_id: int, amount: float | None = None, *, date: str | None = None,
                         journal_id: int | None = None, uid: int = ADMIN_UID) -> int:
        """Register a payment through the wizard, as the UI does; returns the payment id."""
        vals: dict[str, Any] = {}
        if amount is not None:
            vals["amount"] = amount
        if date:
            vals["payment_date"] = date
        if journal_id:
            vals["journal_id"] = journal_id
        context = {"active_model": "account.move", "active_ids": [move_id], "dont_redirect_to_payments": True}
        wizard = self.service.execute(uid, "account.payment.register", "create", [vals], {"context": context})
        self.service.execute(uid, "account.payment.register", "action_create_payments", [[wizard]],
                             {"context": context})
        payments = self.search("account.payment", [], active_test=False)
        return max(payments)

    def match_payment(self, payment_id: int) -> None:
        """The bank statement matched the payment: its invoices become ``paid``."""
        from sandbox.odoo.payments import match_payment

        self.service.transaction(ADMIN_UID, "account.payment.match", False,
                                 lambda env: match_payment(env, payment_id))

    def seed(self, **kwargs: Any) -> dict[str, int]:
        """Deterministic demo data (``sandbox.odoo.seed.seed``); remembered for ``reset()``."""
        from sandbox.odoo.seed import seed

        return seed(self, **kwargs)

    # ---- counters / control --------------------------------------------------------------------
    def count(self, what: str, *, protocol: str | None = None, label: str | None = None) -> None:
        with self.lock:
            self._counts[what] += 1
            if protocol:
                self._counts[f"protocol:{protocol}"] += 1
            if label:
                self._calls[label] += 1

    def counters(self) -> dict[str, Any]:
        """Calls by ``model.method``, totals per protocol, refused logins, injected faults."""
        with self.lock:
            return {"total": self._counts["call"], "calls": dict(sorted(self._calls.items())),
                    "by_protocol": {k.split(":", 1)[1]: v for k, v in self._counts.items() if k.startswith("protocol:")},
                    "access_denied": self._counts["access_denied"], "deprecated_calls": self._counts["deprecated_calls"],
                    "faults_injected": dict(self.faults.injected)}

    def reset_counters(self) -> None:
        with self.lock:
            self._counts.clear()
            self._calls.clear()

    def snapshot(self) -> dict[str, Any]:
        """Records per model (models with rows), the version and the database."""
        with self.lock:
            counts = {m: self.store.count(m) for m in sorted(self.registry) if self.store.count(m)}
            return {"version": self.profile.server_version, "db": self.db, "records": counts}

    def reset(self) -> None:
        """Fresh database of the same version (re-seeded if ``seed`` was used), no faults, zero
        counters. API keys and passwords are those of a fresh database again."""
        with self.lock:
            self.faults.clear()
            self.reset_counters()
            self._build(self.profile.major)
            if self.seed_args is not None:
                self.seed(**self.seed_args)
