"""The resident H5 pages: what a phone opens from the notice-board QR code (``/h5/?compound=1``).

Plain HTML, CSS and JavaScript shipped in this package (no build step, no CDN). They call the
JSON API of the same origin. A plain Flask blueprint: the pages are not part of the API
document.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_from_directory

from participation.common.http import CONTENT_SECURITY_POLICY

HERE = Path(__file__).resolve().parent


bp = Blueprint("h5", __name__, url_prefix="/h5", static_folder="static", static_url_path="/static")


@bp.get("/")
def index():
    """The single page; the compound comes from ``?compound=<id>``."""
    return send_from_directory(HERE, "index.html", mimetype="text/html")


@bp.after_request
def headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    # Small files: revalidate every time (ETag), so a new release is picked up at once.
    response.headers["Cache-Control"] = "no-cache"
    return response
