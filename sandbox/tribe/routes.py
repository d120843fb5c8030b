"""HTTP routes: ``/oauth2/token``, the OData API under ``/v1/odata`` (files at ``Attachment(<id>)/$value``)
and ``/v1/webhooks``."""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, unquote

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.tribe.documents import ATTACHMENT_SET, attachment_content
from sandbox.tribe.errors import ODataError, bad_request
from sandbox.tribe.model import ENTITY_SETS, set_for_type
from sandbox.tribe.odata_query import parse_options, run_collection, serialize
from sandbox.tribe.reference import api_employee_id
from sandbox.tribe.state import TribeState

__all__ = ["api_router", "query_params"]

_RESOURCE = re.compile(r"(?P<name>[A-Za-z_]\w*)(?:\((?P<key>[^)]*)\))?")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def query_params(request: Request, plus_is_space: bool = True) -> dict[str, str]:
    """Decode the query string; repeated system options are an error.

    Args:
        request: The incoming request.
        plus_is_space: Decode ``+`` as a space (form style). Off = keep ``+`` literally, the
            way the real Tribe API appears to behave.
    """
    raw = request.url.query
    if plus_is_space:
        pairs = parse_qsl(raw, keep_blank_values=True)
    else:
        pairs = [(unquote(k), unquote(v)) for k, _, v in (p.partition("=") for p in raw.split("&") if p)]
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params and key.startswith("$"):
            raise bad_request(f"The query option '{key}' is given more than once", "InvalidQuery")
        params[key] = value
    return params


def _token_of(request: Request, params: dict[str, str]) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return params.get("access_token")


def guard(state: TribeState, request: Request, label: str, params: dict[str, str]) -> str:
    """Count the call, apply the per-client rate limit, then require a live token.

    Returns:
        The calling client's ID.
    """
    state.record_call(request.method, label)
    client = state.auth.client_for(_token_of(request, params))
    allowed, retry_after = state.check_rate(client or f"anonymous:{request.client.host if request.client else ''}")
    if not allowed:
        raise ODataError(429, "TooManyRequests", f"Rate limit of {state.rate_limit} requests per "
                         f"{state.rate_window_s:g} seconds exceeded. Try again in {retry_after} seconds.",
                         {"Retry-After": str(retry_after)})
    return state.auth.require(_token_of(request, params))


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        raise bad_request("The request body is empty; send a JSON object", "InvalidBody")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}", "InvalidBody") from exc
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object", "InvalidBody")
    return body


def _resource(path: str) -> tuple[str, str | None]:
    """Split ``Set`` / ``Set(<guid>)`` / ``Set('<guid>')`` into (set name, key or None)."""
    match = _RESOURCE.fullmatch(path)
    if not match:
        raise ODataError(404, "NotFound", f"Resource '{path}' not found (navigation segments such as "
                         "Set(id)/Nav are not supported; use $expand)")
    name, key = match.group("name"), match.group("key")
    if key is not None:
        key = key.strip().strip("'")
        if key and not _GUID.fullmatch(key):
            raise bad_request(f"Invalid key '{key}': an entity key is an unquoted GUID", "InvalidKey")
    return name, key


def _entity(state: TribeState, set_name: str, record: dict, params: dict[str, str], status: int = 200) -> JSONResponse:
    opts = parse_options(params, ENTITY_SETS[set_name], single=True)
    concrete = set_for_type(record["_Type"]).name
    body = {"@odata.context": f"$metadata#OData.{concrete}/$entity", **serialize(state.store, record, opts)}
    return JSONResponse(body, status_code=status)


def _media(state: TribeState, request: Request, params: dict[str, str], path: str) -> Response:
    """``Attachment(<id>)/$value``: the file as its bytes ([INFER] the OData media-resource form)."""
    name, key = _resource(path)
    guard(state, request, f"{name}/$value", params)
    if name != ATTACHMENT_SET or not key:
        raise ODataError(404, "NotFound", f"'{path}' has no media value; files are Attachment(<id>)/$value")
    record = state.store.lookup(key, name)
    content = attachment_content(record) if record else None
    if content is None:
        raise ODataError(404, "NotFound", f"No file for attachment '{key}'")
    return Response(content, media_type=record.get("ContentType") or "application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{record.get("FileName")}"'})


def _known_set(name: str) -> str:
    if name not in ENTITY_SETS:
        raise ODataError(404, "EntityTypeNotFound", f"Entity set '{name}' not found")
    return name


def api_router(state: TribeState, plus_is_space: bool = True) -> APIRouter:
    """Build the routes for one tenant."""
    router = APIRouter()

    @router.post("/oauth2/token")
    async def token(request: Request) -> JSONResponse:
        state.record_call("POST", "oauth2/token")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        allowed, retry_after = state.check_rate(form.get("client_id") or "anonymous-token")
        if not allowed:
            raise ODataError(429, "TooManyRequests", f"Rate limit exceeded. Try again in {retry_after} seconds.",
                             {"Retry-After": str(retry_after)})
        issued = state.auth.issue(form, request.headers.get("authorization"))
        return JSONResponse(issued, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @router.get("/v1/odata/{path:path}")
    async def read(path: str, request: Request) -> Response:
        params = query_params(request, plus_is_space)
        if path.endswith("/$value"):  # a file's bytes (the invoice PDF): sandbox/tribe/documents.py
            return _media(state, request, params, path[: -len("/$value")])
        name, key = _resource(path)
        guard(state, request, name, params)
        if name == "GetCurrentEmployee":
            employee = state.store.lookup(api_employee_id())
            if employee is None:
                raise ODataError(404, "NotFound", "This tenant has no API user")
            return _entity(state, "Relationship_Person_Contact_Employee", employee, params)
        if name == "Webhook" and key is None:
            return JSONResponse({"@odata.context": "$metadata#OData.Webhook", "value": state.webhooks.list()})
        _known_set(name)
        if key is not None:
            record = state.store.lookup(key, name) if key else None
            if record is None:
                raise ODataError(404, "NotFound", f"No entity with ID '{key}' in '{name}'")
            return _entity(state, name, record, params)
        opts = parse_options(params, ENTITY_SETS[name])
        base_url = str(request.base_url).rstrip("/") + request.url.path
        return JSONResponse(run_collection(state.store, name, opts, base_url, params))

    @router.post("/v1/odata/{path:path}")
    async def create_or_update(path: str, request: Request) -> JSONResponse:
        params = query_params(request, plus_is_space)
        name, key = _resource(path)
        guard(state, request, name, params)
        _known_set(name)
        if key is not None:
            raise bad_request("POST goes to the entity set; to update, include \"ID\" in the body or PUT "
                              "to Set(<id>)", "InvalidRequest")
        body = await json_body(request)
        if body.get("ID"):  # Tribe's widely used update style: POST with the ID in the body
            record = state.store.update(name, str(body["ID"]), body)
            return _entity(state, name, record, params)
        record = state.store.create(name, body)
        response = _entity(state, name, record, params, status=201)
        response.headers["Location"] = f"{str(request.base_url).rstrip('/')}/v1/odata/{name}({record['ID']})"
        return response

    @router.api_route("/v1/odata/{path:path}", methods=["PUT", "PATCH"])
    async def update(path: str, request: Request) -> JSONResponse:
        params = query_params(request, plus_is_space)
        name, key = _resource(path)
        guard(state, request, name, params)
        _known_set(name)
        if not key:
            raise bad_request(f"{request.method} needs an entity key: /v1/odata/{name}(<id>)", "InvalidRequest")
        body = await json_body(request)
        if body.get("ID") and str(body["ID"]).lower() != key.lower():
            raise bad_request("The ID in the body does not match the key in the URL", "InvalidRequest")
        record = state.store.update(name, key, body)
        return _entity(state, name, record, params)

    @router.delete("/v1/odata/{path:path}")
    async def delete(path: str, request: Request) -> Response:
        params = query_params(request, plus_is_space)
        name, key = _resource(path)
        guard(state, request, name, params)
        _known_set(name)
        if not key:
            raise bad_request(f"DELETE needs an entity key: /v1/odata/{name}(<id>)", "InvalidRequest")
        state.store.delete(name, key)
        return Response(status_code=204)

    @router.post("/v1/webhooks")
    async def create_webhook(request: Request) -> JSONResponse:
        params = query_params(request, plus_is_space)
        guard(state, request, "webhooks", params)
        body = await json_body(request)
        entity_type, url = body.get("entityType"), body.get("webhookUrl")
        if not isinstance(entity_type, str) or not entity_type:
            raise bad_request("'entityType' is required, e.g. \"Relation.Organization\"", "InvalidWebhook")
        known = {s.type for s in ENTITY_SETS.values()}
        if entity_type not in known:
            raise bad_request(f"Unknown entityType '{entity_type}'", "InvalidWebhook")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise bad_request("'webhookUrl' must be an http(s) URL", "InvalidWebhook")
        headers = body.get("headers") or []
        if not isinstance(headers, list) or not all(
                isinstance(h, dict) and isinstance(h.get("name"), str) and isinstance(h.get("value"), str)
                for h in headers):
            raise bad_request("'headers' must be a list of {\"name\", \"value\"} strings", "InvalidWebhook")
        return JSONResponse(state.webhooks.register(entity_type, url, headers), status_code=201)

    @router.get("/v1/webhooks")
    async def list_webhooks(request: Request) -> JSONResponse:
        guard(state, request, "webhooks", query_params(request, plus_is_space))
        return JSONResponse(state.webhooks.list())

    @router.delete("/v1/webhooks/{webhook_id}")
    async def delete_webhook(webhook_id: str, request: Request) -> Response:
        guard(state, request, "webhooks", query_params(request, plus_is_space))
        if not state.webhooks.remove(webhook_id):
            raise ODataError(404, "NotFound", f"No webhook with id '{webhook_id}'")
        return Response(status_code=204)

    return router
