"""RFC 6902 JSON Patch, restricted to the properties of a resource's ``*PatchDto``.

ASP.NET's JsonPatch resolves property names case-insensitively (the spec's own example uses
``/phoneNumber``), so paths are matched that way and rewritten to PascalCase. Supported:
``add``/``replace``/``remove`` (plus ``test``/``copy``/``move``), nested ``/MailAddress/City``
and array members ``/ContactGroupIds/0`` or ``/ContactGroupIds/-``.
"""
from __future__ import annotations

import copy
from typing import Any

from sandbox.poweroffice.dto import ADDRESS_WRITABLE, coerce
from sandbox.poweroffice.problems import ApiError

__all__ = ["apply_patch"]

_OPS = {"add", "remove", "replace", "test", "copy", "move"}


class _Patcher:
    def __init__(self, doc: dict[str, Any], allowed: frozenset[str], title: str, dto_name: str) -> None:
        self.doc = doc
        self.allowed = {name.lower(): name for name in allowed}
        self.title = title
        self.dto_name = dto_name

    def fail(self, detail: str) -> ApiError:
        return ApiError(400, self.title, detail)

    def tokens(self, path: Any) -> list[str]:
        """Split and authorise a JSON pointer; returns canonical names (and a list index)."""
        if not isinstance(path, str) or not path.startswith("/"):
            raise self.fail(f"The path {path!r} is not a valid JSON Pointer.")
        raw = [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]
        top = self.allowed.get(raw[0].lower())
        if top is None:
            raise self.fail(f"The path '{path}' cannot be patched: '{raw[0]}' is not a property of "
                            f"{self.dto_name}.")
        if len(raw) == 1:
            return [top]
        if top == "MailAddress" and len(raw) == 2:
            member = next((k for k in ADDRESS_WRITABLE if k.lower() == raw[1].lower()), None)
            if member is None:
                raise self.fail(f"The path '{path}' cannot be patched: '{raw[1]}' is not a property of "
                                "ContactAddressPatchDto.")
            return [top, member]
        if top == "ContactGroupIds" and len(raw) == 2 and (raw[1] == "-" or raw[1].isdigit()):
            return [top, raw[1]]
        raise self.fail(f"The path '{path}' cannot be patched: nested paths are not supported on '{top}'.")

    def get(self, toks: list[str]) -> Any:
        value = self.doc.get(toks[0])
        if len(toks) == 1:
            return copy.deepcopy(value)
        if toks[0] == "MailAddress":
            return (value or {}).get(toks[1])
        items = value or []
        index = len(items) - 1 if toks[1] == "-" else int(toks[1])
        if not 0 <= index < len(items):
            raise self.fail(f"The index {toks[1]} is out of range for ContactGroupIds.")
        return items[index]

    def put(self, toks: list[str], value: Any, insert: bool) -> None:
        top = toks[0]
        if len(toks) == 1:
            self.doc[top] = coerce(top, value, self.title)
        elif top == "MailAddress":
            if value is not None and not isinstance(value, str):
                raise self.fail(f"MailAddress.{toks[1]} must be a string.")
            self.doc[top] = dict(self.doc.get(top) or {})
            self.doc[top][toks[1]] = value
        else:
            items = list(self.doc.get(top) or [])
            item = coerce("Id", value, self.title)
            if toks[1] == "-":
                items.append(item)
            else:
                index = int(toks[1])
                if index > len(items) or (not insert and index == len(items)):
                    raise self.fail(f"The index {index} is out of range for ContactGroupIds.")
                if insert:
                    items.insert(index, item)
                else:
                    items[index] = item
            self.doc[top] = items

    def remove(self, toks: list[str]) -> None:
        top = toks[0]
        if len(toks) == 1:
            self.doc[top] = None  # typed targets: removing a property resets it to its default
        elif top == "MailAddress":
            if self.doc.get(top):
                self.doc[top] = dict(self.doc[top])
                self.doc[top][toks[1]] = None
        else:
            items = list(self.doc.get(top) or [])
            index = len(items) - 1 if toks[1] == "-" else int(toks[1])
            if not 0 <= index < len(items):
                raise self.fail(f"The index {toks[1]} is out of range for ContactGroupIds.")
            items.pop(index)
            self.doc[top] = items

    def run(self, operation: Any) -> None:
        if not isinstance(operation, dict) or not isinstance(operation.get("op"), str):
            raise self.fail("Each JSON Patch operation must be an object with 'op' and 'path'.")
        op = operation["op"].lower()
        if op not in _OPS:
            raise self.fail(f"Unknown JSON Patch operation '{operation['op']}'.")
        toks = self.tokens(operation.get("path"))
        if op in {"add", "replace"}:
            if "value" not in operation:
                raise self.fail(f"The '{op}' operation at '{operation['path']}' needs a value.")
            self.put(toks, operation["value"], insert=op == "add")
        elif op == "remove":
            self.remove(toks)
        elif op == "test":
            if self.get(toks) != operation.get("value"):
                raise self.fail(f"The test operation at '{operation['path']}' failed.")
        else:
            source = self.tokens(operation.get("from"))
            value = self.get(source)
            if op == "move":
                self.remove(source)
            self.put(toks, value, insert=True)


def apply_patch(doc: dict[str, Any], operations: Any, allowed: frozenset[str], *,
                title: str, dto_name: str) -> dict[str, Any]:
    """Apply a JSON Patch document to a copy of ``doc``.

    Args:
        doc: The record's current values (PascalCase keys).
        operations: The parsed request body (must be an array of operations).
        allowed: Property names of the resource's ``*PatchDto``.
        title: ProblemDetails title for errors, e.g. "Customer validation error(s)".
        dto_name: Named in error details, e.g. "CustomerPatchDto".

    Returns:
        The patched copy; only keys in ``allowed`` can differ from ``doc``.

    Raises:
        ApiError: 400 naming the offending path.
    """
    if not isinstance(operations, list) or not operations:
        raise ApiError(400, title, "The request body must be a non-empty JSON Patch array.")
    patcher = _Patcher(copy.deepcopy(doc), allowed, title, dto_name)
    for operation in operations:
        patcher.run(operation)
    return patcher.doc
