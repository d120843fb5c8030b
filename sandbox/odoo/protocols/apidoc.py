"""Odoo 19's ``api_doc`` module over a bearer API key: ``/doc-bearer/<model>.json`` (a model's
fields and methods, with each method's parameter names: how JSON-2 clients such as
odoo-client-lib name positional arguments) and ``/doc-bearer/index.json`` (every model).

Shapes from addons/api_doc/controllers/api_doc.py (19-era): ``{"model", "name", "doc",
"fields": {name: fields_get entry + "module"}, "methods": {name: {"signature", "parameters",
"api"?, "model", "module"}}}``; a parameter lists only what it has (``default`` when
JSON-serialisable, ``kind`` unless POSITIONAL_OR_KEYWORD, ``annotation``). Routes are
``type='json2'``, ``auth='bearer'``: 401 without a valid key, 403 (AccessError) for a user
outside ``api_doc.group_allow_doc`` (implied by Settings/Administration: the admin here), 404
for an unknown model. Absent on 17 and 18 (HTML 404).
"""
from __future__ import annotations

import hashlib
import inspect
import json
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from sandbox.odoo import api
from sandbox.odoo.access import Env
from sandbox.odoo.errors import AccessError, HttpError
from sandbox.odoo.fields import MAGIC, describe
from sandbox.odoo.methods import ORM_METHODS, public_methods
from sandbox.odoo.protocols.http import NOT_FOUND_TEXT, json_response, not_found
from sandbox.odoo.protocols.json2 import authenticate, error_response

if TYPE_CHECKING:
    from sandbox.odoo.registry import ModelDef
    from sandbox.odoo.state import OdooState

__all__ = ["model_doc", "router"]

ADMIN_UID = 2  # the database's administrator: in base.group_system, so in api_doc.group_allow_doc
# [INFER] the Odoo module that defines each model here (the doc's "module" keys); Odoo reads it
# from the registry.
_MODULES = (("account.", "account"), ("product.", "product"), ("uom.", "uom"), ("res.partner.bank", "base"))


def _module(model: str) -> str:
    return next((module for prefix, module in _MODULES if model.startswith(prefix)), "base")


def _parameters(fn: Any) -> tuple[str, dict[str, dict[str, Any]]]:
    """``(signature, parameters)`` of a method without ``self``, as ``parse_signature`` gives them."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    described: dict[str, dict[str, Any]] = {}
    shown = []
    for param in params:
        entry: dict[str, Any] = {}
        if param.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
            entry["kind"] = param.kind.name
        if param.annotation not in (inspect.Parameter.empty, "Any"):
            entry["annotation"] = str(param.annotation)
        text = param.name
        if param.default is not inspect.Parameter.empty:
            text += f"={param.default!r}"
            try:
                json.dumps(param.default)
                entry["default"] = param.default
            except (TypeError, ValueError):
                pass
        described[param.name] = entry
        shown.append(text)
    return f"({', '.join(shown)})", described


def _method_doc(model: ModelDef, name: str, fn: Any) -> dict[str, Any]:
    signature, parameters = _parameters(fn)
    doc: dict[str, Any] = {"signature": signature, "parameters": parameters}
    flags = [flag for flag, on in (("model", api.is_model_method(fn)), ("readonly", api.is_readonly(fn))) if on]
    if flags:
        doc["api"] = flags
    # ORM methods come from BaseModel (no _name, no _module): Odoo says "core" for both.
    core = name in ORM_METHODS and name not in model.methods
    doc.update(model="core" if core else model.name, module="core" if core else _module(model.name))
    return doc


def model_doc(env: Env, model: ModelDef) -> dict[str, Any]:
    """The body of ``/doc-bearer/<model>.json``."""
    fields = {name: {**describe(f, model.name), "module": None if name in MAGIC else _module(model.name)}
              for name, f in model.fields.items()}
    methods = {name: _method_doc(model, name, fn) for name, fn in public_methods(env, model).items()}
    return {"model": model.name, "name": model.description, "doc": None, "fields": fields, "methods": methods}


def _index(env: Env) -> dict[str, Any]:
    models = [{"model": m.name, "name": m.description,
               "fields": {name: {"string": f.string} for name, f in m.fields.items()},
               "methods": list(public_methods(env, m))} for m in env.registry.values()]
    modules = ["base", "web", "rpc", "api_doc", *sorted({_module(m.name) for m in env.registry.values()} - {"base"})]
    return {"modules": modules, "models": models}


def router(state: OdooState) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    def serve(request: Request, build: Any) -> Response:
        if not state.profile.api_doc:
            return not_found(state, request)
        try:
            uid = authenticate(state, request)
            if uid != ADMIN_UID:
                raise AccessError("This page is only accessible to Technical Documentation users.")
            with state.lock:
                body = build(Env(state, uid))
        except Exception as exc:
            return error_response(state, exc)
        # Odoo tags the document (registry sequence, lang, groups) and answers 304 to a match.
        etag = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:32]
        headers = {"ETag": etag, "Cache-Control": "no-cache, private", "Content-Language": "en-US"}
        if request.headers.get("if-none-match", "").strip('"') == etag:
            return Response(status_code=304, headers=headers)
        return json_response(body, headers=headers)

    def document(model: str) -> Any:
        def build(env: Env) -> dict[str, Any]:
            model_def = env.registry.get(model)
            if model_def is None:
                raise HttpError(404, NOT_FOUND_TEXT)
            return model_doc(env, model_def)
        return build

    methods = ["GET", "POST"]

    async def index(request: Request) -> Response:
        return serve(request, _index)

    async def one(model: str, request: Request) -> Response:
        return serve(request, document(model))

    routes.add_api_route("/doc-bearer/index.json", index, methods=methods)
    routes.add_api_route("/doc-bearer/{model}.json", one, methods=methods)
    return routes
