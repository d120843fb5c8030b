"""Model definitions per business area; each module's ``define(profile)`` returns its models.

The short constructors below keep the field lists readable: ``char("Name", required=True)``.
"""
from __future__ import annotations

from typing import Any

from sandbox.odoo.fields import Field

__all__ = ["boolean", "char", "date", "datetime_", "float_", "html", "integer", "m2m", "m2o", "monetary", "o2m",
           "selection", "text"]


def char(string: str, **kw: Any) -> Field:
    return Field("char", string, **kw)


def text(string: str, **kw: Any) -> Field:
    return Field("text", string, **kw)


def html(string: str, **kw: Any) -> Field:
    return Field("html", string, **kw)


def boolean(string: str, **kw: Any) -> Field:
    return Field("boolean", string, **kw)


def integer(string: str, **kw: Any) -> Field:
    return Field("integer", string, **kw)


def float_(string: str, **kw: Any) -> Field:
    return Field("float", string, **kw)


def monetary(string: str, **kw: Any) -> Field:
    return Field("monetary", string, **kw)


def date(string: str, **kw: Any) -> Field:
    return Field("date", string, **kw)


def datetime_(string: str, **kw: Any) -> Field:
    return Field("datetime", string, **kw)


def selection(string: str, choices: list[tuple[str, str]], **kw: Any) -> Field:
    return Field("selection", string, selection=tuple(choices), **kw)


def m2o(relation: str, string: str, **kw: Any) -> Field:
    return Field("many2one", string, relation=relation, **kw)


def o2m(relation: str, inverse: str, string: str, **kw: Any) -> Field:
    return Field("one2many", string, relation=relation, inverse_name=inverse, **kw)


def m2m(relation: str, string: str, **kw: Any) -> Field:
    return Field("many2many", string, relation=relation, **kw)
