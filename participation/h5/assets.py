"""The H5 page's files as they go over a slow phone network: each asset named by its content
hash (``/h5/static/app.js?v=…``, cached for a year, so a new release is fetched at once), the
page revalidated on every visit (ETag), text gzip-compressed for clients that accept it —
static files compressed once per version of the file.

A ``Bundle`` is one set of pages (a folder with ``index.html`` and ``static/``, served by one
blueprint): the H5's here, the committee workbench's in participation/workbench/.
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


@dataclass(frozen=True)
class Bundle:
    """A folder's ``index.html`` and ``static/`` files, served by the blueprint whose static
    endpoint is ``endpoint`` (e.g. ``"h5.static"``)."""

    folder: Path
    endpoint: str

    def static_asset(self, name: str) -> Asset | None:
        """One file of ``static/`` (read again only when it changes on disk), or None."""
        path = self.folder / "static" / name
        if "/" in name or path.suffix not in TYPES or not path.is_file():
            return None
        return _read(path, path.stat().st_mtime_ns)

    def asset_url(self, filename: str) -> str:
        """The cacheable address of one of the bundle's assets."""
        return url_for(self.endpoint, filename=filename, v=self.static_asset(filename).etag)

    def page_html(self) -> str:
        """index.html with absolute, versioned asset addresses (the H5 page is served at
        ``/h5/`` and at a short link ``/c/<code>``)."""
        html = (self.folder / "index.html").read_text(encoding="utf-8")
        return re.sub(
            r'((?:href|src)=")static/([\w.-]+)"',
            lambda match: f'{match.group(1)}{self.asset_url(match.group(2))}"',
            html,
        )


H5 = Bundle(HERE, "h5.static")
static_asset = H5.static_asset
asset_url = H5.asset_url
page_html = H5.page_html


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
