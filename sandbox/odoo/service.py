"""The RPC services behind every protocol: ``common`` (version, login, authenticate),
``object`` (execute, execute_kw, re-checking the credentials on each call), ``db`` (list), and
the one-transaction-per-call wrapper (rollback on error, injected serialization failures)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.odoo import api
from sandbox.odoo.access import Env
from sandbox.odoo.errors import AccessDenied, HttpError, SerializationFailure, UnknownDatabase, UserError
from sandbox.odoo.methods import bind_named, call_kw, get_method, normalize_ids

if TYPE_CHECKING:
    from sandbox.odoo.state import OdooState

__all__ = ["Service"]

log = logging.getLogger("sandbox.odoo")


class Service:
    def __init__(self, state: OdooState) -> None:
        self.state = state

    # ---- dispatch ----------------------------------------------------------------------------
    def dispatch(self, service: str, method: str, params: list, *, protocol: str) -> Any:
        """``dispatch_rpc``: what ``/xmlrpc/2/<service>`` and ``/jsonrpc`` call."""
        state = self.state
        if state.profile.rpc_deprecated:
            state.count("deprecated_calls")
            log.warning("deprecated RPC endpoint used (%s %s.%s): Odoo 19 deprecates /xmlrpc, /xmlrpc/2 and "
                        "/jsonrpc, removal planned for Odoo 22", protocol, service, method)
        params = list(params or [])
        if service == "common":
            return self._common(method, params)
        if service == "object":
            if method not in ("execute", "execute_kw"):
                raise NameError(f"Method not available {method}")
            db, uid, password = params[0], int(params[1]), params[2]
            self.check(db, uid, password)
            model, name = params[3], params[4]
            if method == "execute_kw":
                args = params[5] if len(params) > 5 else []
                kwargs = params[6] if len(params) > 6 else {}
            else:
                args, kwargs = params[5:], {}
            return self.execute(uid, model, name, args, kwargs, protocol=protocol)
        if service == "db":
            if method == "list":
                return [state.db]
            if method == "server_version":
                return state.profile.server_version
            raise AccessDenied()  # database management is off (list_db / admin password)
        raise ValueError(f"No service named {service!r}")  # [INFER]

    def version(self) -> dict[str, Any]:
        p = self.state.profile
        return {"server_version": p.server_version, "server_version_info": p.version_info,
                "server_serie": p.server_version, "protocol_version": 1}

    def _common(self, method: str, params: list) -> Any:
        if method == "version":
            return self.version()
        if method in ("login", "authenticate"):
            db, login, password = params[0], params[1], params[2]
            return self.authenticate(db, login, password)
        raise KeyError(f"exp_{method}")  # [INFER] common.dispatch looks the function up by name

    # ---- credentials ---------------------------------------------------------------------------
    def check_db(self, db: Any) -> None:
        if db != self.state.db:
            raise UnknownDatabase(str(db))

    def find_login(self, login: Any) -> int | None:
        for row in self.state.store.rows("res.users"):
            if row.get("login") == login and row.get("active"):
                return row["id"]
        return None

    def authenticate(self, db: Any, login: Any, password: Any, *, allow_key: bool = True) -> int | bool:
        """uid, or False for a wrong login/password (17+ catch AccessDenied here)."""
        self.check_db(db)
        with self.state.lock:
            uid = self.find_login(login)
            ok = uid is not None and self.state.credentials.check(uid, password, self.state.now(), allow_key=allow_key)
        if not ok:
            self.state.count("access_denied")
            return False
        return uid

    def check(self, db: Any, uid: int, password: Any) -> None:
        """``security.check`` on every object call: AccessDenied when it does not hold."""
        self.check_db(db)
        with self.state.lock:
            user = self.state.store.get("res.users", uid)
            ok = bool(user and user.get("active")) and self.state.credentials.check(uid, password, self.state.now())
        if not ok:
            self.state.count("access_denied")
            raise AccessDenied()

    # ---- calls ---------------------------------------------------------------------------------
    def execute(self, uid: int, model: Any, method: Any, args: Any, kwargs: Any, *, protocol: str = "python",
                context: dict[str, Any] | None = None) -> Any:
        """One ``execute_kw`` call in its own transaction."""
        if not isinstance(args, list | tuple):
            raise TypeError(f"execute_kw expects a list of positional arguments, not {args!r}")
        if kwargs is not None and not isinstance(kwargs, dict):
            raise TypeError(f"execute_kw expects a dict of keyword arguments, not {kwargs!r}")
        model_def = self.state.registry.get(model) if isinstance(model, str) else None
        if model_def is None:
            raise UserError(f"Object {model} doesn't exist")
        self.state.count("call", protocol=protocol, label=f"{model}.{method}")

        def work(env: Env) -> Any:
            return call_kw(env, model_def, method, list(args), dict(kwargs or {}))
        fn = get_method(Env(self.state, uid), model_def, method)
        return self.transaction(uid, f"{model}.{method}", api.is_readonly(fn), work, context)

    def execute_named(self, uid: int, model: str, method: str, ids: Any, kwargs: dict[str, Any],
                      context: Any) -> Any:
        """A JSON-2 call: named arguments only; recordsets come back as ids."""
        model_def = self.state.registry.get(model)
        if model_def is None:
            raise HttpError(404, f"the model {model!r} does not exist")
        try:
            fn = get_method(Env(self.state, uid), model_def, method)
        except AttributeError as exc:
            raise HttpError(404, str(exc)) from exc
        if api.is_model_method(fn) and ids:
            raise HttpError(422, f"cannot call {model}.{method} with ids")
        if context is not None and not isinstance(context, dict):
            raise HttpError(422, f"context must be an object, not {context!r}")
        record_ids = normalize_ids(ids or [])
        try:
            bind_named(fn, api.Records(None, model_def, record_ids), kwargs)  # type: ignore[arg-type]
        except TypeError as exc:
            raise HttpError(422, str(exc.args[0])) from exc
        self.state.count("call", protocol="json2", label=f"{model}.{method}")

        def work(env: Env) -> Any:
            return fn(api.Records(env, model_def, record_ids), **kwargs)
        # JSON-2's context replaces the user's (with_context(context)), it is not merged.
        return self.transaction(uid, f"{model}.{method}", api.is_readonly(fn), work, dict(context or {}))

    def transaction(self, uid: int, target: str, readonly: bool, work: Callable[[Env], Any],
                    context: dict[str, Any] | None = None) -> Any:
        state = self.state
        with state.lock:
            env = Env(state, uid, context)
            state.store.begin()
            try:
                result = work(env)
                # The conflict shows when the rows are written: the work is done, then undone.
                if not readonly and state.faults.draw_serialization(target):
                    raise SerializationFailure()
            except BaseException:
                state.store.rollback()
                raise
            state.store.commit()
            return result
