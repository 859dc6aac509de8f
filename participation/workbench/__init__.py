"""The committee's workbench (工作台): the pages 居委会, 业委会 and 街道 staff run campaigns
with — sign-in, roster import, the campaign wizard, the live tally, door-to-door mobilisation,
paper ballots and proxies, claims review and the 公示.

A single page in plain JavaScript (no build step, no CDN) that calls only the documented JSON
API under ``/api/v1/`` with the staff member's bearer token, like the resident H5 pages. A
plain Flask blueprint: the pages are not part of the API document. Assets are served the H5's
way (participation/h5/assets.py): content-hash versioned, cached for a year, gzip.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, request

from participation.common.http import CONTENT_SECURITY_POLICY
from participation.h5 import assets

BUNDLE = assets.Bundle(Path(__file__).resolve().parent, "workbench.static")

bp = Blueprint("workbench", __name__)


@bp.get("/workbench/")
def index():
    """The single page; where it stands is in the address's fragment (``#/…``)."""
    html = BUNDLE.page_html().encode()
    return assets.send(assets.make_asset(html, "text/html", level=6), "no-cache")


@bp.get("/workbench/static/<filename>")
def static(filename: str):
    asset = BUNDLE.static_asset(filename)
    if asset is None:
        abort(404)
    current = request.args.get("v") == asset.etag
    return assets.send(asset, assets.FOREVER if current else "no-cache")


@bp.after_request
def headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    return response
