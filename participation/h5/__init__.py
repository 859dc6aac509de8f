"""The resident H5 pages: what a phone opens from the notice-board QR code (``/h5/?compound=1``).

Plain HTML, CSS and JavaScript shipped in this package (no build step, no CDN). They call the
JSON API of the same origin. A plain Flask blueprint: the pages are not part of the API
document.

Weight on a slow phone network: the page names its assets with a content hash
(``static/app.js?v=…``), so they are cached for a year and a new release is fetched at once;
the page itself is revalidated on every visit (ETag). Text is sent gzip-compressed to clients
that accept it, compressed once per version of the file.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, request, url_for

from participation.common.http import CONTENT_SECURITY_POLICY

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
YEAR = 365 * 24 * 3600

bp = Blueprint("h5", __name__, url_prefix="/h5")


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str
    mimetype: str


def _asset(body: bytes, mimetype: str) -> Asset:
    digest = hashlib.sha256(body).hexdigest()[:16]
    return Asset(body, gzip.compress(body, compresslevel=9, mtime=0), digest, mimetype)


@cache
def _read(path: Path, mtime_ns: int) -> Asset:
    return _asset(path.read_bytes(), TYPES[path.suffix])


def static_asset(name: str) -> Asset | None:
    """One file of ``static/`` (read again only when it changes on disk), or None."""
    path = STATIC / name
    if "/" in name or path.suffix not in TYPES or not path.is_file():
        return None
    return _read(path, path.stat().st_mtime_ns)


def page() -> Asset:
    """index.html with each asset's address carrying its content hash."""
    path = HERE / "index.html"
    versions = tuple(
        static_asset(p.name).etag for p in sorted(STATIC.iterdir()) if p.suffix in TYPES
    )
    return _page(path.stat().st_mtime_ns, versions)


@cache
def _page(mtime_ns: int, versions: tuple) -> Asset:
    html = (HERE / "index.html").read_text(encoding="utf-8")

    def versioned(match: re.Match) -> str:
        asset = static_asset(match.group(2))
        return f"{match.group(1)}static/{match.group(2)}?v={asset.etag}"

    html = re.sub(r'((?:href|src)=")static/([\w.-]+)', versioned, html)
    return _asset(html.encode(), "text/html")


def _send(asset: Asset, cache_control: str) -> Response:
    etag = f'"{asset.etag}"'
    if etag in request.headers.get("If-None-Match", ""):
        response = Response(status=304)
    elif "gzip" in request.headers.get("Accept-Encoding", ""):
        response = Response(asset.gzipped, mimetype=asset.mimetype)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(asset.body, mimetype=asset.mimetype)
    response.headers["ETag"] = etag
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = cache_control
    return response


@bp.get("/")
def index():
    """The single page; the compound comes from ``?compound=<id>``."""
    return _send(page(), "no-cache")


def asset_url(filename: str) -> str:
    """The cacheable address of one of the H5 assets (other pages use the H5 style sheet)."""
    return url_for("h5.static", filename=filename, v=static_asset(filename).etag)


@bp.get("/static/<filename>")
def static(filename: str):
    asset = static_asset(filename)
    if asset is None:
        abort(404)
    current = request.args.get("v") == asset.etag
    return _send(asset, f"public, max-age={YEAR}, immutable" if current else "no-cache")


@bp.after_request
def headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    return response
