"""The H5 page's files as they go over a slow phone network: each asset named by its content
hash (``/h5/static/app.js?v=…``, cached for a year, so a new release is fetched at once), the
page revalidated on every visit (ETag), text gzip-compressed for clients that accept it —
static files compressed once per version of the file.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import Response, request, url_for

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
YEAR = 365 * 24 * 3600
FOREVER = f"public, max-age={YEAR}, immutable"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str
    mimetype: str


def make_asset(body: bytes, mimetype: str, level: int = 9) -> Asset:
    digest = hashlib.sha256(body).hexdigest()[:16]
    return Asset(body, gzip.compress(body, compresslevel=level, mtime=0), digest, mimetype)


@cache
def _read(path: Path, mtime_ns: int) -> Asset:
    return make_asset(path.read_bytes(), TYPES[path.suffix])


def static_asset(name: str) -> Asset | None:
    """One file of ``static/`` (read again only when it changes on disk), or None."""
    path = STATIC / name
    if "/" in name or path.suffix not in TYPES or not path.is_file():
        return None
    return _read(path, path.stat().st_mtime_ns)


def asset_url(filename: str) -> str:
    """The cacheable address of one of the H5 assets."""
    return url_for("h5.static", filename=filename, v=static_asset(filename).etag)


def page_html() -> str:
    """index.html with absolute, versioned asset addresses: the same page is served at
    ``/h5/`` and at a short link ``/c/<code>``."""
    html = (HERE / "index.html").read_text(encoding="utf-8")
    return re.sub(
        r'((?:href|src)=")static/([\w.-]+)"',
        lambda match: f'{match.group(1)}{asset_url(match.group(2))}"',
        html,
    )


def send(asset: Asset, cache_control: str) -> Response:
    """``asset`` as the request asks for it: 304 when its ETag matches, else gzip or plain."""
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
