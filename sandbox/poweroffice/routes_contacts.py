"""HTTP routes: ``/v2/Customers``, ``/v2/Suppliers`` and ``/v2/ContactPersons``.

Paths are registered in lowercase; the path normaliser lowercases incoming paths, which is
how the simulator matches case-insensitively like ASP.NET behind APIM.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from sandbox.poweroffice import contacts, dto
from sandbox.poweroffice.filters import Query
from sandbox.poweroffice.httputil import empty_ok, int_id, json_body, patch_body
from sandbox.poweroffice.paging import json_response, list_response
from sandbox.poweroffice.problems import not_found
from sandbox.poweroffice.validation import check_contact_groups

if TYPE_CHECKING:
    from sandbox.poweroffice.state import PowerOfficeState

__all__ = ["router"]

_LIST = {"customers": ("customerNos", "customerCreatedDateTimeOffsetGreaterThan", "CustomerCreatedDateTimeOffset",
                       dto.CUSTOMER),
         "suppliers": ("supplierNos", "supplierCreatedDateTimeOffsetGreaterThan", "SupplierCreatedDateTimeOffset",
                       dto.SUPPLIER)}


def _contact_routes(r: APIRouter, state: PowerOfficeState, kind: str) -> None:
    nos, created_param, created_field, fields = _LIST[kind]
    title = f"{contacts.LABEL[kind]} validation error(s)"

    @r.get(f"/v2/{kind}")
    async def list_contacts(request: Request) -> Response:
        q = Query(request)
        with state.lock:
            rows = list(state.table(kind).values())
            groups = q.ids("contactGroupIds")
            if groups is not None:
                check_contact_groups(state, sorted(groups))
                rows = [row for row in rows if groups & set(row.get("ContactGroupIds") or [])]
            ref = q.raw("externalImportReference")
            if ref is not None:
                rows = [row for row in rows if (row.get("ExternalImportReference") or "").lower() == ref.lower()]
            rows = q.number_filter(rows, nos, "Number")
            rows = q.number_filter(rows, "externalNos", "ExternalNumber")
            rows = q.after(rows, created_param, created_field)
            rows = q.after(rows, "lastChangedDateTimeOffsetGreaterThan", "LastChangedDateTimeOffset")
            rendered = [state.render(kind, row) for row in rows]
        return list_response(request, q, rendered, fields)

    @r.post(f"/v2/{kind}")
    async def create_contact(request: Request) -> Response:
        body = await json_body(request, title)
        with state.lock:
            rec = contacts.create_contact(state, kind, body)
            return json_response(state.render(kind, rec), 201)

    @r.get(f"/v2/{kind}/{{cid}}")
    async def get_contact(cid: str) -> Response:
        with state.lock:
            return json_response(state.render(kind, contacts.find_contact(state, kind, int_id(cid))))

    @r.patch(f"/v2/{kind}/{{cid}}")
    async def patch_contact(cid: str, request: Request) -> Response:
        ops = await patch_body(request, title)
        with state.lock:
            rec = contacts.patch_contact(state, kind, int_id(cid), ops)
            return json_response(state.render(kind, rec))

    @r.delete(f"/v2/{kind}/{{cid}}")
    async def delete_contact(cid: str) -> Response:
        with state.lock:
            contacts.delete_contact(state, kind, int_id(cid))
        return empty_ok()


def _person_routes(r: APIRouter, state: PowerOfficeState) -> None:
    title = "ContactPerson validation error(s)"

    @r.get("/v2/contactpersons")
    async def list_persons(request: Request) -> Response:
        q = Query(request)
        with state.lock:
            rows = list(state.table("contact_persons").values())
            wanted = q.ids("contactIds")
            if wanted is not None:
                missing = sorted(c for c in wanted if c not in state.table("customers")
                                 and c not in state.table("suppliers"))
                if missing:
                    raise not_found("Could not find contact(s) with id = " + ", ".join(map(str, missing)) + ".")
                rows = [row for row in rows if row["ContactId"] in wanted]
            rows = q.text_filter(rows, "externalCodes", "ExternalCode")
            rows = q.after(rows, "createdDateTimeOffsetGreaterThan", "CreatedDateTimeOffset")
            rows = q.after(rows, "lastChangedDateTimeOffsetGreaterThan", "LastChangedDateTimeOffset")
            rendered = [state.render("contact_persons", row) for row in rows]
        return list_response(request, q, rendered, dto.CONTACT_PERSON)

    @r.post("/v2/contactpersons/{cid}")
    async def create_person(cid: str, request: Request) -> Response:
        body = await json_body(request, title)
        with state.lock:
            rec = contacts.create_person(state, int_id(cid, "contactId"), body)
            return json_response(state.render("contact_persons", rec), 201)

    @r.get("/v2/contactpersons/{cid}/{pid}")
    async def get_person(cid: str, pid: str) -> Response:
        with state.lock:
            rec = contacts.find_person(state, int_id(cid, "contactId"), int_id(pid))
            return json_response(state.render("contact_persons", rec))

    @r.patch("/v2/contactpersons/{cid}/{pid}")
    async def patch_person(cid: str, pid: str, request: Request) -> Response:
        ops = await patch_body(request, title)
        with state.lock:
            rec = contacts.patch_person(state, int_id(cid, "contactId"), int_id(pid), ops)
            return json_response(state.render("contact_persons", rec))

    @r.delete("/v2/contactpersons/{cid}/{pid}")
    async def delete_person(cid: str, pid: str) -> Response:
        with state.lock:
            contacts.delete_person(state, int_id(cid, "contactId"), int_id(pid))
        return empty_ok()


def router(state: PowerOfficeState) -> APIRouter:
    """Customer, supplier and contact-person routes bound to ``state``."""
    r = APIRouter()
    _contact_routes(r, state, "customers")
    _contact_routes(r, state, "suppliers")
    _person_routes(r, state)
    return r
