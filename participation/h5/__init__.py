"""The resident H5 pages: what a phone opens from the notice-board QR code.

Plain HTML, CSS and JavaScript shipped in this package (no build step, no CDN). They call the
JSON API of the same origin. A plain Flask blueprint: the pages are not part of the API
document.

The QR code's short link ``/c/<code>`` serves the page itself (no redirect: one round trip
less on a slow network) with the compound's public data and board embedded as JSON, and the
page then shows its canonical address ``/h5/?compound=…`` (with ``&vote=``/``&survey=`` when
the link names one). ``/h5/?compound=…`` embeds the same. See assets.py for caching and
compression.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request
from jinja2.utils import htmlsafe_json_dumps

from participation.common.errors import ApiError
from participation.common.http import CONTENT_SECURITY_POLICY
from participation.extensions import db
from participation.h5 import assets
from participation.notices import links, services
from participation.notices.models import LinkTarget
from participation.notices.pages import message
from participation.notices.schemas import BoardNoticeSchema
from participation.roster.models import Compound
from participation.roster.services import public_compound

BOARD_SIZE = 20  # notices embedded in the page, as the page would ask for them

bp = Blueprint("h5", __name__)


def board_data(compound_id: int | None) -> dict | None:
    """The compound's public data and its current public notices (what the page would
    otherwise fetch from /api/v1/public/…), or None for no such compound."""
    compound = db.session.get(Compound, compound_id) if compound_id else None
    if compound is None:
        return None
    notices = db.session.scalars(services.public_notices(compound.id).limit(BOARD_SIZE)).all()
    return {
        "compound": public_compound(compound),
        "notices": BoardNoticeSchema(many=True).dump(notices),
    }


def _page(data: dict | None):
    html = assets.page_html()
    if data is not None:
        block = f'<script type="application/json" id="h5-data">{htmlsafe_json_dumps(data)}</script>'
        html = html.replace("</head>", f"  {block}\n</head>", 1)
    return assets.send(assets.make_asset(html.encode(), "text/html", level=6), "no-cache")


@bp.get("/h5/")
def index():
    """The single page; the compound comes from ``?compound=<id>``."""
    return _page(board_data(request.args.get("compound", type=int)))


@bp.get("/c/<path:code>")
def short_link(code: str):
    """A QR code's address: the page it names; a replaced code says where to go now."""
    try:
        link, current = links.find(code)
    except ApiError:
        return message(
            404,
            "二维码无效",
            "没有找到这个二维码对应的页面。",
            "请核对海报上的网址，或向社区居委会咨询。",
        )
    if current is not link:
        return message(
            410,
            "二维码已更换",
            "这张海报上的二维码已经停用，社区已张贴新的二维码。",
            "请点击下面的按钮进入新页面，或扫描公示栏上的新海报。",
            action_url=f"/c/{current.code}",
            action_label="进入新页面",
        )
    if link.target is LinkTarget.NOTICE:
        return redirect(links.target_path(link), code=302)
    data = board_data(link.compound_id)
    if data is None:
        abort(404)
    return _page({**data, "canonical": links.target_path(link)})


@bp.get("/h5/static/<filename>")
def static(filename: str):
    asset = assets.static_asset(filename)
    if asset is None:
        abort(404)
    current = request.args.get("v") == asset.etag
    return assets.send(asset, assets.FOREVER if current else "no-cache")


@bp.after_request
def headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    return response
