"""Odoo's exceptions as the simulator raises them, and their three wire formats.

Each class knows the fully qualified name Odoo reports (``data.name`` in JSON-RPC, ``name`` in
JSON-2), its XML-RPC faultCode (``/xmlrpc/2``) and legacy string code (``/xmlrpc``), and its
JSON-2 HTTP status. Python's own exceptions (ValueError for a bad domain, TypeError for bad
arguments) travel as ``builtins.*``, as they do from a real server.
"""
from __future__ import annotations

import xmlrpc.client
from typing import Any

__all__ = [
    "AccessDenied", "AccessError", "HttpError", "MissingError", "OdooError", "SerializationFailure",
    "SessionExpired", "UnknownDatabase", "UserError", "ValidationError", "exception_name", "serialize_exception",
    "traceback_text", "xmlrpc_fault",
]

# XML-RPC faultCodes of /xmlrpc/2 (reference §5.1).
FAULT_APPLICATION_ERROR = 1
FAULT_WARNING = 2
FAULT_ACCESS_DENIED = 3
FAULT_ACCESS_ERROR = 4


class OdooError(Exception):
    """Base of the ``odoo.exceptions`` family; ``args[0]`` is the message."""

    odoo_name = "odoo.exceptions.UserError"
    fault_code = FAULT_WARNING
    legacy_fault = "warning -- UserError"
    http_status = 422
    user_error = True  # UserError subclasses map to http_status in JSON-2, others to 500

    def __init__(self, message: str, *args: Any) -> None:
        super().__init__(message, *args)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class UserError(OdooError):
    pass


class ValidationError(UserError):
    odoo_name = "odoo.exceptions.ValidationError"


class MissingError(UserError):
    odoo_name = "odoo.exceptions.MissingError"
    legacy_fault = "warning -- MissingError"
    http_status = 404


class AccessError(UserError):
    odoo_name = "odoo.exceptions.AccessError"
    fault_code = FAULT_ACCESS_ERROR
    legacy_fault = "warning -- AccessError"
    http_status = 403


class AccessDenied(OdooError):
    """Bad login, password or API key. Not a UserError before 19 (so no http_status there)."""

    odoo_name = "odoo.exceptions.AccessDenied"
    fault_code = FAULT_ACCESS_DENIED
    legacy_fault = "AccessDenied"
    http_status = 403

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class SerializationFailure(OdooError):
    """PostgreSQL's 40001 after Odoo's own retries ran out: the server re-raises the psycopg2
    error, so it reaches the client as an internal error (not a UserError). The call changed
    nothing and may be retried. [INFER] wire shape: the retry loop re-raises the original error."""

    odoo_name = "psycopg2.errors.SerializationFailure"
    fault_code = FAULT_APPLICATION_ERROR
    legacy_fault = ""
    http_status = 500
    user_error = False

    def __init__(self, message: str = "could not serialize access due to concurrent update\n") -> None:
        super().__init__(message)


class UnknownDatabase(OdooError):
    """A database name the server does not host: the registry cannot connect. [INFER]"""

    odoo_name = "psycopg2.OperationalError"
    fault_code = FAULT_APPLICATION_ERROR
    legacy_fault = ""
    http_status = 500
    user_error = False

    def __init__(self, db: str) -> None:
        super().__init__(f'connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: '
                         f'FATAL:  database "{db}" does not exist\n')


class SessionExpired(OdooError):
    """No (or an unknown) web session on a ``/web/...`` route that needs one."""

    odoo_name = "odoo.http.SessionExpiredException"
    fault_code = FAULT_APPLICATION_ERROR
    http_status = 403
    user_error = False

    def __init__(self, message: str = "Session expired") -> None:
        super().__init__(message)


class HttpError(Exception):
    """A werkzeug HTTPException: ``HttpError(404, "the model 'x' does not exist")``."""

    NAMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
             415: "UnsupportedMediaType", 422: "UnprocessableEntity", 500: "InternalServerError"}
    PHRASES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
               415: "Unsupported Media Type", 422: "Unprocessable Entity", 500: "Internal Server Error"}

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description, code)
        self.code = code
        self.description = description

    def __str__(self) -> str:
        # werkzeug's HTTPException.__str__: what a traceback's last line shows
        return f"{self.code} {self.PHRASES.get(self.code, 'Unknown Error')}: {self.description}"

    @property
    def odoo_name(self) -> str:
        return f"werkzeug.exceptions.{self.NAMES.get(self.code, 'HTTPException')}"


def exception_name(exc: BaseException) -> str:
    """``odoo.exceptions.UserError``, ``builtins.ValueError``... as ``serialize_exception`` names it."""
    name = getattr(exc, "odoo_name", None)
    if name:
        return name
    cls = type(exc)
    return f"{cls.__module__}.{cls.__name__}"


def exception_message(exc: BaseException) -> str:
    if isinstance(exc, HttpError):
        return exc.description
    if isinstance(exc, OdooError):
        return exc.message
    if isinstance(exc, KeyError) and exc.args:
        return repr(exc.args[0])
    return str(exc)


def traceback_text(exc: BaseException) -> str:
    """The ``debug`` text: a traceback whose last line is the one Python prints.

    Python's ``traceback`` names a class by ``module.qualname`` except for ``builtins`` (so
    ``ValueError: ...``, but ``odoo.exceptions.UserError: ...``) and shows ``str(exc)``
    (werkzeug's ``404 Not Found: ...``). The frames are not Odoo's (the simulator has none);
    clients should only ever read the last line, which is what a real traceback ends with too.
    """
    name = exception_name(exc).removeprefix("builtins.")
    text = str(exc) if isinstance(exc, HttpError) else exception_message(exc)
    last = f"{name}: {text}" if text else name  # Python drops the colon for an empty message
    return ("Traceback (most recent call last):\n"
            '  File "<odoo simulator>", line 1, in dispatch\n'
            f"{last}\n")


def serialize_exception(exc: BaseException) -> dict[str, Any]:
    """The ``data`` of a JSON-RPC error and the body of a JSON-2 error (reference §5.2/§5.3)."""
    if isinstance(exc, HttpError):
        arguments: list = [exc.description, exc.code]
    else:
        arguments = [str(a) if isinstance(a, BaseException) else a for a in exc.args]
    return {"name": exception_name(exc), "message": exception_message(exc), "arguments": arguments,
            "context": {}, "debug": traceback_text(exc)}


def xmlrpc_fault(exc: BaseException, *, legacy: bool = False) -> xmlrpc.client.Fault:
    """The Fault for ``/xmlrpc/2`` (integer codes) or legacy ``/xmlrpc`` (string codes).

    Checks run in Odoo's order: AccessError → 4, AccessDenied → 3, UserError (incl.
    ValidationError, MissingError) → 2, anything else → 1 with the traceback as faultString.
    """
    if isinstance(exc, OdooError) and exc.fault_code != FAULT_APPLICATION_ERROR:
        if legacy:
            if isinstance(exc, AccessDenied):
                return xmlrpc.client.Fault("AccessDenied", exc.message)
            return xmlrpc.client.Fault(f"{exc.legacy_fault}\n\n{exc.message}", "")
        return xmlrpc.client.Fault(exc.fault_code, exc.message)
    text = traceback_text(exc)
    if legacy:
        return xmlrpc.client.Fault(exception_message(exc), text)
    return xmlrpc.client.Fault(FAULT_APPLICATION_ERROR, text)
