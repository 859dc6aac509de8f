"""Reading requests safely: the API's Blueprint and its arguments parser.

Every API blueprint is a :class:`Blueprint` from here, so every request body, query string and
form goes through :class:`RequestParser`, which refuses what no field should ever see:
bodies that are not JSON (malformed, not UTF-8, nested too deep) and text with NUL bytes or
lone surrogates (PostgreSQL refuses both, and a lone surrogate cannot even be written back as
UTF-8). The answer is a 400 in the project's error format, never a 500, and nothing is written.
Page numbers are bounded.
"""

from __future__ import annotations

import copy
import functools
import re

import marshmallow as ma
from flask import request
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.pagination import PaginationParameters
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.routing import IntegerConverter

from participation.common.schemas import INT_MAX, Integer

# Deeper JSON than any schema of this API takes is refused before it reaches one.
MAX_JSON_DEPTH = 32
# The largest page number that can be asked for (page × page_size stays a 32-bit offset).
MAX_PAGE = 100_000
MAX_PAGE_SIZE = 100
# NUL and UTF-16 surrogate halves: not text in any database or in UTF-8.
UNSAFE_TEXT = re.compile("[\x00\ud800-\udfff]")

INVALID_JSON = "请求内容不是有效的 JSON"
UNSAFE_CHARACTERS = "内容含有无法保存的字符（如空字符）"


def unsafe_text(value: str) -> bool:
    return UNSAFE_TEXT.search(value) is not None


def check_json(value, depth: int = 0) -> str | None:
    """Why a decoded JSON document cannot be accepted, or None."""
    if depth > MAX_JSON_DEPTH:
        return f"JSON 嵌套不能超过 {MAX_JSON_DEPTH} 层"
    if isinstance(value, str):
        return UNSAFE_CHARACTERS if unsafe_text(value) else None
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        problem = check_json(item, depth + 1)
        if problem:
            return problem
    return None


class IdConverter(IntegerConverter):
    """``<int:…_id>`` in every URL: 1 to ``INT_MAX``. A larger number cannot name a row, so
    the URL does not match (404), instead of overflowing the query."""

    def __init__(self, map, fixed_digits=0, min=1, max=INT_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class RequestParser(FlaskParser):
    """webargs' Flask parser with the checks above, for every location the API reads."""

    DEFAULT_VALIDATION_STATUS = 422

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        try:
            data = core.parse_json(req.get_data(cache=True))
        except RecursionError:
            _refuse("json", f"JSON 嵌套不能超过 {MAX_JSON_DEPTH} 层")
        problem = check_json(data)
        if problem:
            _refuse("json", problem)
        return data

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        _refuse("json", INVALID_JSON)

    def load_querystring(self, req, schema):
        _check_multidict(req.args, "query")
        return super().load_querystring(req, schema)

    def load_form(self, req, schema):
        _check_multidict(req.form, "form")
        return super().load_form(req, schema)

    def load_files(self, req, schema):
        for name, upload in req.files.items(multi=True):
            if unsafe_text(name) or unsafe_text(upload.filename or ""):
                _refuse("files", UNSAFE_CHARACTERS)
        return super().load_files(req, schema)


def _check_multidict(values, location: str) -> None:
    for key, value in values.items(multi=True):
        if unsafe_text(key) or unsafe_text(value):
            _refuse(location, UNSAFE_CHARACTERS)


def _refuse(location: str, message: str):
    abort(400, messages={location: {"_schema": [message]}}, message=message)


def _pagination_schema(def_page: int, def_page_size: int, def_max_page_size: int):
    max_page_size = min(def_max_page_size, MAX_PAGE_SIZE)

    class PaginationParametersSchema(ma.Schema):
        class Meta:
            unknown = ma.EXCLUDE

        page = Integer(load_default=def_page, validate=ma.validate.Range(min=1, max=MAX_PAGE))
        page_size = Integer(
            load_default=def_page_size, validate=ma.validate.Range(min=1, max=max_page_size)
        )

        @ma.post_load
        def make_paginator(self, data, **kwargs):
            return PaginationParameters(**data)

    return PaginationParametersSchema


PAGINATION_HEADER_DOC = {
    "description": (
        "JSON text: total, total_pages, first_page, last_page, page, previous_page, next_page "
        '(e.g. {"total": 45, "total_pages": 5, "first_page": 1, "last_page": 5, "page": 1, '
        '"next_page": 2})'
    ),
    "schema": {"type": "string"},
}


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint reading requests with :class:`RequestParser`."""

    ARGUMENTS_PARSER = RequestParser()
    PAGINATION_ARGUMENTS_PARSER = RequestParser()

    def arguments(self, schema, *args, **kwargs):
        """flask-smorest's arguments, with a schema class made an instance once, here: given
        a class, webargs makes a new instance for every request, deep-copying its fields
        (a tenth of an answer's CPU for its nested answers). Loading does not change a
        schema instance, so one serves every request."""
        if isinstance(schema, type) and issubclass(schema, ma.Schema):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)

    def paginate(self, pager=None, *, page=None, page_size=None, max_page_size=None):
        """flask-smorest's pagination with bounded page numbers: a page past ``MAX_PAGE``
        is a 422, not an offset the database cannot take."""
        decorator = super().paginate(
            pager, page=page, page_size=page_size, max_page_size=max_page_size
        )
        defaults = self.DEFAULT_PAGINATION_PARAMETERS
        bounded = _pagination_schema(
            page or defaults["page"],
            page_size or defaults["page_size"],
            max_page_size or defaults["max_page_size"],
        )

        def bounded_decorator(func):
            paginated = decorator(func)

            @functools.wraps(paginated)
            def wrapper(*args, **kwargs):
                self.PAGINATION_ARGUMENTS_PARSER.parse(bounded, request, location="query")
                return paginated(*args, **kwargs)

            wrapper._apidoc = copy.deepcopy(paginated._apidoc)
            wrapper._apidoc["pagination"]["parameters"]["schema"] = bounded
            return wrapper

        return bounded_decorator
