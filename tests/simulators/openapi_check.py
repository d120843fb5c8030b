"""Validate recorded simulator exchanges against the vendor's PowerOffice Go v2 OpenAPI file.

``validate_exchange(spec_path, exchange)`` checks one request *and* its response with
openapi-core and returns human-readable problems (empty list = conforms). An exchange is the
dict the simulator records in ``state.traffic``: method, path, query, request_headers,
request_body, status, response_headers, response_body.

Mapping and deliberate allowances:

* Our ``/v2`` (and ``/Demo/v2``) prefix is stripped: the spec's paths have none. Path
  literals are matched case-insensitively, as the real ASP.NET backend does.
* ``/OAuth/Token`` is not in this file (it lives in a separate auth spec): skipped.
* ``application/json-patch+json`` bodies are parsed as JSON (openapi-core has no deserializer
  for that media type).
* ``Operation.value`` is declared ``type: object`` in the merged spec (an artefact of C#'s
  ``object``), yet the spec's own examples patch strings and numbers; it is relaxed to "any".
* The status code must be declared on the operation (openapi-core alone would let anything
  fall through to ``default``).

The spec path comes from ``POWEROFFICE_OPENAPI_SPEC``; use :func:`spec_path_or_skip` in tests.
"""
from __future__ import annotations

import copy
import json
import os
import re
from functools import lru_cache
from typing import Any

__all__ = ["load_openapi", "match_operation", "spec_path_or_skip", "validate_exchange"]

ENV_VAR = "POWEROFFICE_OPENAPI_SPEC"


def spec_path_or_skip() -> str:
    """The spec path from the environment; skip the test when unset, but fail in CI."""
    import pytest

    path = os.environ.get(ENV_VAR)
    if path and os.path.exists(path):
        return path
    reason = f"{ENV_VAR} is {'not set' if not path else f'set to a missing file ({path})'}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; the PowerOffice conformance test must run in CI")
    pytest.skip(reason)


@lru_cache(maxsize=4)
def _load(spec_path: str) -> tuple[Any, dict[str, Any], list[tuple[re.Pattern[str], str]]]:
    import yaml
    from openapi_core import Config, OpenAPI

    with open(spec_path, encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    spec = copy.deepcopy(spec)
    operation = spec.get("components", {}).get("schemas", {}).get("Operation", {})
    if "value" in operation.get("properties", {}):
        operation["properties"]["value"] = {"nullable": True}  # see module docstring
    spec["servers"] = [{"url": "http://localhost:8080"}]
    config = Config(spec_validator_cls=None,
                    extra_media_type_deserializers={"application/json-patch+json": json.loads})
    api = OpenAPI.from_dict(spec, config=config)
    templates = []
    for template in spec["paths"]:
        pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part)
                          for part in re.split(r"(\{[^}]+\})", template))
        templates.append((re.compile(f"^{pattern}$", re.IGNORECASE), template))
    return api, spec, templates


def load_openapi(spec_path: str) -> Any:
    """The cached openapi-core ``OpenAPI`` object for the spec file (loaded once per process)."""
    return _load(spec_path)[0]


def _spec_path(path: str, templates: list[tuple[re.Pattern[str], str]]) -> tuple[str, str] | None:
    """Map ``/v2/customers/5`` to (``/Customers/5``, ``/Customers/{id}``) with the spec's casing."""
    lowered = path.lower()
    if lowered.startswith("/demo/"):
        path, lowered = path[5:], lowered[5:]
    if not lowered.startswith("/v2/"):
        return None
    path = path[3:].rstrip("/")
    # Prefer literal matches (e.g. /SalesOrders/sentState over /SalesOrders/{id}).
    matches = [t for rx, t in templates if rx.match(path)]
    if not matches:
        return None
    template = min(matches, key=lambda t: t.count("{"))
    canon = [seg if "{" in tpl else tpl for seg, tpl in zip(path.split("/"), template.split("/"), strict=True)]
    return "/".join(canon), template


def match_operation(spec_path: str, method: str, path: str) -> tuple[str, str] | None:
    """The spec operation ``(METHOD, template)`` a recorded call maps to, or None (e.g. the token call)."""
    _, spec, templates = _load(spec_path)
    mapped = _spec_path(path, templates)
    if mapped is None or method.lower() not in spec["paths"][mapped[1]]:
        return None
    return method.upper(), mapped[1]


def _messages(exc: Exception) -> list[str]:
    out = [f"{type(exc).__name__}: {exc}"]
    seen = set()
    node: Any = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        for err in getattr(node, "schema_errors", None) or ():
            location = "/".join(str(p) for p in err.absolute_path)
            out.append(f"  - {location or '(root)'}: {err.message}")
        node = node.__cause__ or node.__context__
    return out


def validate_exchange(spec_path: str, exchange: dict[str, Any]) -> list[str]:
    """Validate one recorded exchange (request and response) against the OpenAPI file.

    Args:
        spec_path: Path of the vendor OpenAPI YAML.
        exchange: A ``state.traffic`` entry.

    Returns:
        Problems found, each prefixed with ``METHOD path -> status``; empty when it conforms.
    """
    from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request, Response

    method, path, status = exchange["method"].upper(), exchange["path"], exchange["status"]
    label = f"{method} {path}{'?' + exchange['query'] if exchange.get('query') else ''} -> {status}"
    stripped = path.lower()[5:] if path.lower().startswith("/demo/") else path.lower()
    if stripped.rstrip("/") == "/oauth/token":
        return []  # the token endpoint is specified elsewhere (the auth spec), not in this file
    api, spec, templates = _load(spec_path)
    mapped = _spec_path(path, templates)
    if mapped is None:
        return [f"{label}: no path in the spec matches"]
    concrete, template = mapped
    operation = spec["paths"][template].get(method.lower())
    if operation is None:
        return [f"{label}: the spec has no {method} on {template}"]
    problems: list[str] = []
    if str(status) not in operation.get("responses", {}):
        problems.append(f"{label}: status {status} is not declared for {method} {template} "
                        f"(declared: {', '.join(operation['responses'])})")
    req_headers = {k: v for k, v in exchange.get("request_headers", {}).items()
                   if k in {"content-type", "accept"}}
    builder = EnvironBuilder(method=method, path=concrete, query_string=exchange.get("query") or "",
                             base_url="http://localhost:8080", headers=req_headers,
                             data=exchange.get("request_body") or b"")
    request = WerkzeugOpenAPIRequest(Request(builder.get_environ()))
    resp_headers = exchange.get("response_headers", {})
    response = WerkzeugOpenAPIResponse(Response(exchange.get("response_body") or b"", status=status,
                                                headers={k: v for k, v in resp_headers.items()
                                                         if k not in {"content-length"}}))
    try:
        api.validate_request(request)
    except Exception as exc:  # openapi-core raises a family of ValidationError subclasses
        problems += [f"{label}: request: {m}" for m in _messages(exc)]
    try:
        api.validate_response(request, response)
    except Exception as exc:
        problems += [f"{label}: response: {m}" for m in _messages(exc)]
    return problems
