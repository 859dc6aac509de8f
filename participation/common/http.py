"""HTTP plumbing: CORS for the configured H5 origins, security headers, JSON errors for
routes outside the API blueprints, no cookie sessions."""

from __future__ import annotations

import logging

from flask import Flask, request
from flask.sessions import SessionInterface
from sqlalchemy.exc import OperationalError

from participation.common.errors import ApiError, error_payload

# The pages served by the app (the H5, the board's public pages): everything from this origin
# only — no inline script or style, no frames, no other hosts. Images may also be ``blob:``:
# a photo fetched with the resident's token is shown from memory (it needs a sign-in).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

log = logging.getLogger(__name__)


class NoCookieSession(SessionInterface):
    """Callers sign in with bearer tokens, the H5 pages too: Flask's cookie session is never
    used, so it is not opened (that builds a signing serializer on every request). Writing to
    ``flask.session`` fails loudly."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response) -> None:
        return None


def database_busy(error: OperationalError):
    """The embedded SQLite database stayed locked by another writer (a long inline import)
    past the busy timeout: nothing was written, try again shortly. Any other database
    error is a server error as before."""
    if "database is locked" not in str(error.orig):
        raise error
    log.warning("SQLite database locked past the busy timeout: answered 503")
    busy = ApiError(
        503,
        "database_busy",
        "系统正忙，请稍候几秒再试",
        headers={"Retry-After": "5"},
    )
    body, headers = error_payload(busy)
    return body, 503, headers


def register(app: Flask) -> None:
    app.session_interface = NoCookieSession()
    app.register_error_handler(OperationalError, database_busy)
    origins = set(app.config["CORS_ORIGINS"])

    @app.after_request
    def headers(response):
        origin = request.headers.get("Origin")
        if origin and origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            response.headers["Access-Control-Allow-Headers"] = (
                "Authorization, Content-Type, Idempotency-Key"
            )
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE"
            response.headers["Access-Control-Expose-Headers"] = "X-Pagination"
            response.headers["Access-Control-Max-Age"] = "600"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.path.startswith("/api/v1/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def client_address() -> str:
    """The caller's address (set PARTICIPATION_PROXY_FIX=1 behind a reverse proxy)."""
    return request.remote_addr or "unknown"
