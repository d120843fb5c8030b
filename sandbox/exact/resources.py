"""The REST routes: ``/api/v1/{division}/{service}/{Entity}[(key)[/Nav]][/$count]`` and
``/api/v1/current/Me``, each through the gate (``gate.py``) and the entity's rules.

GET answers 200 (``{"d":{"results":…}}`` or ``{"d":{…}}``; Atom XML without ``Accept:
application/json``), POST 201 with the entity, PUT and DELETE 204 with an empty body (ossobv
asserts ``response == ''``). Paths match case-insensitively (clients write crm/CRM alike).
"""
from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from sandbox.exact.atom import atom_response
from sandbox.exact.divisions import ME_FIELDS, me_row
from sandbox.exact.entities import EntitySpec, find_spec
from sandbox.exact.errors import MANDATORY_FILTER, NOT_FOUND, SELECT_REQUIRED, ExactError, error_response
from sandbox.exact.gate import CallContext, admit, finish
from sandbox.exact.odata_filter import referenced
from sandbox.exact.odata_query import page_rows, parse_key, parse_query
from sandbox.exact.registry import rules_for
from sandbox.exact.render import collection, entity_uri, json_response, render_row
from sandbox.exact.rules import Ctx

if TYPE_CHECKING:
    from sandbox.exact.state import ExactState

__all__ = ["router"]

_PATH = re.compile(r"^(?P<path>[^()]+?)(?:\((?P<key>[^)]*)\)(?:/(?P<nav>\w+))?)?(?P<count>/\$count)?/?$")
_VERBS = {"GET": ("G", "Get"), "POST": ("P", "Create"), "PUT": ("U", "Update"), "DELETE": ("D", "Delete")}
_ME = EntitySpec("current/Me", "Exact.Web.Api.Models.System.Me", "UserID", ME_FIELDS, frozenset())


def _wants_json(state: ExactState, headers: dict[str, str]) -> bool:
    accept = headers.get("accept", "")
    if "application/json" in accept:
        return True
    if state.options.accept_mode == "406":
        raise ExactError(406, "Not Acceptable: send Accept: application/json.")
    return False


def _body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ExactError(400, "Error processing request stream. The request should be a valid top-level resource "
                              "object.")
    return body


class _Call:
    """One REST call, already admitted by the gate; runs under the state lock."""

    def __init__(self, state: ExactState, ctx: Ctx, method: str, rest: str, params: list[tuple[str, str]],
                 headers: dict[str, str], raw: bytes) -> None:
        self.state, self.ctx, self.method, self.rest = state, ctx, method, rest
        self.params, self.headers, self.raw = params, headers, raw

    def run(self) -> Response:
        match = _PATH.match(self.rest)
        spec = find_spec(match["path"]) if match else None
        if spec is None:
            raise ExactError(404, f"Resource not found for the segment '{self.rest.split('(')[0]}'.")
        letter, verb = _VERBS[self.method]
        if letter not in spec.methods:
            raise ExactError(400, f"You're not allowed to {verb}()")  # [INFER] status of a refused method
        rules = rules_for(spec)
        if match["key"] is None:
            if self.method == "POST":
                return self.create(spec, rules)
            if self.method != "GET":
                raise ExactError(400, f"{verb} needs a key: {spec.path}(guid'…').")
            return self.listing(spec, rules.rows(self.ctx, spec), f"{self.ctx.api_base}/{match['path']}",
                                count_only=bool(match["count"]), top_level=True)
        key = parse_key(spec, match["key"])
        row = next((r for r in rules.rows(self.ctx, spec) if r.get(spec.key) == key), None)
        if row is None:
            raise ExactError(404, NOT_FOUND)
        if match["nav"]:
            if match["nav"] not in spec.navs or self.method != "GET":
                raise ExactError(400, f"No property '{match['nav']}' exists in type '{spec.type_name}'.")
            target = find_spec(spec.navs[match["nav"]][0])
            return self.listing(target, rules.children(self.ctx, spec, match["nav"], row),
                                f"{entity_uri(self.ctx.api_base, spec, row)}/{match['nav']}")
        stored = self.state.store.table(self.ctx.division, spec).get(key, row)
        if self.method == "PUT":
            self.refuse(spec)
            rules.update(self.ctx, spec, stored, _body(self.raw))
            return Response(status_code=204)
        if self.method == "DELETE":
            rules.delete(self.ctx, spec, stored)
            return Response(status_code=204)
        q = parse_query(self.params, spec)
        if not _wants_json(self.state, self.headers):
            return atom_response(spec, [row], self.ctx.api_base, q.select, None, single=True)
        return json_response({"d": render_row(spec, row, self.ctx.api_base, q.select, q.expand,
                                              self._children(spec, rules))})

    def _children(self, spec: EntitySpec, rules: Any) -> Any:
        def children(nav: str, row: dict[str, Any]) -> list[dict[str, Any]]:
            target = find_spec(spec.navs[nav][0])
            rows = rules.children(self.ctx, spec, nav, row)
            return [render_row(target, r, self.ctx.api_base) for r in rows]
        return children

    def listing(self, spec: EntitySpec, rows: list[dict[str, Any]], base: str, *, count_only: bool = False,
                top_level: bool = False) -> Response:
        opts = self.state.options
        q = parse_query(self.params, spec)
        if top_level and opts.mandatory_filters and spec.mandatory and (
                q.filter is None or not referenced(q.filter) & set(spec.mandatory)):
            raise ExactError(400, MANDATORY_FILTER.format(fields=",".join(sorted(spec.mandatory))))
        if spec.kind == "bulk" and opts.select_required_on_bulk and not q.select:
            raise ExactError(400, SELECT_REQUIRED)
        if count_only:  # $count: a bare number (sent without Accept by the .NET SDK)
            chunk, _, count = page_rows(rows, spec, q, 1 << 30, base)
            return Response(str(count), media_type="text/plain")
        size = opts.bulk_page_size if spec.page_kind == "bulk" else opts.page_size
        chunk, next_url, count = page_rows(rows, spec, q, size, base)
        if not _wants_json(self.state, self.headers):
            return atom_response(spec, chunk, self.ctx.api_base, q.select, next_url)
        rules = rules_for(spec)
        results = [render_row(spec, r, self.ctx.api_base, q.select, q.expand, self._children(spec, rules))
                   for r in chunk]
        return json_response(collection(results, next_url, count if q.inlinecount else None))

    def refuse(self, spec: EntitySpec) -> None:
        """A business rule of the administration (the ``refusals`` option): Exact's 400."""
        body = _body(self.raw)
        for rule in self.state.options.refusals:
            if rule["path"].lower() == spec.path.lower() and str(rule["contains"]) in str(body.get(rule["field"]) or ""):
                raise ExactError(400, rule.get("message") or f"{rule['field']}: not allowed in this administration")

    def create(self, spec: EntitySpec, rules: Any) -> Response:
        self.refuse(spec)
        row = rules.create(self.ctx, spec, _body(self.raw))
        view = next((r for r in rules.rows(self.ctx, spec) if r.get(spec.key) == row[spec.key]), row)
        null_derived = self.state.options.post_needs_prefer and "return=representation" not in self.headers.get(
            "prefer", "")
        body = render_row(spec, view, self.ctx.api_base, null_derived=null_derived)
        return json_response({"d": body}, 201, {"Location": body["__metadata"]["uri"]})


def router(state: ExactState) -> APIRouter:
    r = APIRouter()

    @r.api_route("/api/v1/{division}/{rest:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def api(division: str, rest: str, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")  # this request's own host, for its links
        state.base_url = base  # the latest, for links made outside a request (webhook events)
        headers = {k.lower(): v for k, v in request.headers.items()}
        params = parse_qsl(request.url.query, keep_blank_values=True)
        raw = await request.body()
        method = request.method
        if division.lower() == "current" and rest.strip("/").lower() == "me":
            return _me(state, base, method, params, headers)
        endpoint = (_PATH.match(rest)["path"] if _PATH.match(rest) else rest).strip("/").lower()
        ctx = CallContext(state, method, endpoint, int(division) if division.isdigit() else -1)
        status, response = 500, None
        try:
            with state.lock:
                admit(ctx, headers)
                call = _Call(state, Ctx(state, ctx.division, f"{base}/api/v1/{ctx.division}", headers,
                                        ctx.client_id or ""), method, rest, params, headers, raw)
                response = call.run()
        except ExactError as exc:
            response = error_response(exc)
        finally:
            status = response.status_code if response is not None else 500
            with state.lock:
                finish(ctx, status)
        for name, value in ctx.headers.items():
            response.headers[name] = value
        return response

    return r


def _me(state: ExactState, base: str, method: str, params: list[tuple[str, str]],
        headers: dict[str, str]) -> Response:
    ctx = CallContext(state, method, "current/me", None)
    response: Response | None = None
    try:
        with state.lock:
            admit(ctx, headers)
            if method != "GET":
                raise ExactError(400, "You're not allowed to Create()")
            q = parse_query(params, _ME)
            row = render_row(_ME, me_row(state), f"{base}/api/v1", q.select)
            response = json_response(collection([row], None, None))
    except ExactError as exc:
        response = error_response(exc)
    finally:
        with state.lock:
            finish(ctx, response.status_code if response is not None else 500)
    return response
