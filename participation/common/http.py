"""HTTP plumbing: CORS for the configured H5 origins, security headers, JSON errors for
routes outside the API blueprints, no cookie sessions."""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SessionInterface


class NoCookieSession(SessionInterface):
    """Callers sign in with bearer tokens, the H5 pages too: Flask's cookie session is never
    used, so it is not opened (that builds a signing serializer on every request). Writing to
    ``flask.session`` fails loudly."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response) -> None:
        return None


def register(app: Flask) -> None:
    app.session_interface = NoCookieSession()
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
