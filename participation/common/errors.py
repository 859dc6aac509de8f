"""The JSON error format: ``{"code", "message", "errors"}`` with the right HTTP status.

Domain code raises :class:`ApiError` (or one of the helpers below); flask-smorest's and
webargs' own errors and any ``HTTPException`` are rendered the same way.
"""

from __future__ import annotations

import logging

import marshmallow as ma
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

DEFAULT_CODES = {
    400: ("bad_request", "请求有误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "无权进行此操作"),
    404: ("not_found", "未找到"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "与现有数据冲突"),
    413: ("payload_too_large", "上传内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_error", "提交的内容有误"),
    429: ("too_many_requests", "操作过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误"),
    503: ("service_unavailable", "服务暂时不可用，请稍后再试"),
}


class ErrorSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "stable snake_case code"})
    message = ma.fields.String(required=True)
    errors = ma.fields.Dict(metadata={"description": "field → problems"})


class ApiError(HTTPException):
    """An error with a stable code. ``errors`` maps fields to lists of problems."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(description=message)
        self.code = status
        self.error_code = code
        self.message = message
        self.errors = errors or {}
        self.extra_headers = headers or {}


def not_found(message: str = "未找到") -> ApiError:
    return ApiError(404, "not_found", message)


def forbidden(message: str = "无权进行此操作", code: str = "forbidden") -> ApiError:
    return ApiError(403, code, message)


def conflict(code: str, message: str, errors: dict | None = None) -> ApiError:
    return ApiError(409, code, message, errors)


def invalid(code: str, message: str, errors: dict | None = None) -> ApiError:
    return ApiError(422, code, message, errors)


def error_payload(error: HTTPException) -> tuple[dict, dict]:
    """Build the JSON body and extra headers for any HTTPException."""
    status = error.code or 500
    default_code, default_message = DEFAULT_CODES.get(status, ("error", error.name))
    if isinstance(error, ApiError):
        return (
            {"code": error.error_code, "message": error.message, "errors": error.errors},
            error.extra_headers,
        )
    payload = {"code": default_code, "message": default_message, "errors": {}}
    data = getattr(error, "data", None) or {}
    if "message" in data:
        payload["message"] = data["message"]
    errors = data.get("errors") or data.get("messages")
    if errors:
        payload["errors"] = _field_errors(errors)
    if status == 500:
        original = getattr(error, "original_exception", None)
        if original is not None:
            log.exception("unhandled error", exc_info=original)
    headers = {
        name: value for name, value in error.get_headers() if name.lower() != "content-type"
    }  # e.g. Allow on a 405
    headers.update(data.get("headers") or {})
    return payload, headers


WEBARGS_LOCATIONS = {"json", "query", "form", "files", "headers", "path", "view_args"}


def _field_errors(errors) -> dict:
    """webargs nests problems by location (``{"json": {...}}``), or gives a list for a
    location as a whole (a body that is not JSON): keep the field level for clients, and put
    problems of a whole location under ``_schema``."""
    if not isinstance(errors, dict):
        return {"_schema": list(errors)}
    if not set(errors) <= WEBARGS_LOCATIONS:
        return errors
    merged: dict = {}
    for part in errors.values():
        for field, problems in (part if isinstance(part, dict) else {"_schema": part}).items():
            if isinstance(problems, list) and isinstance(merged.get(field), list):
                merged[field] = merged[field] + problems
            else:
                merged[field] = problems
    return merged
