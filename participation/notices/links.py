"""Short links (``/c/<code>``) and their QR codes.

Every compound has one current link to its H5 landing page; a vote, survey or notice may have
its own. Codes are drawn at random from an alphabet without look-alikes (no 0/o, 1/l/i), so
one compound's code says nothing of another's: 8 characters of 31 give 8.5·10¹¹ codes.
Rotating a link (a poster was defaced, a code leaked) gives the target a new code; the old
one keeps answering with a page that points to the new one. Functions flush, never commit.
"""

from __future__ import annotations

import io
import re
import secrets
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from flask import current_app, has_request_context, request
from PIL import Image
from qrcode.constants import ERROR_CORRECT_Q
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from participation.auth.scoping import get_scoped, path_resolver
from participation.auth.tokens import Principal
from participation.common.errors import ApiError, conflict, not_found
from participation.common.links import provide_compound_link
from participation.common.sql import db_now
from participation.extensions import db
from participation.notices.models import LinkTarget, Notice, ShortLink
from participation.roster.models import Compound
from participation.surveys.models import Survey
from participation.votes.models import Vote

ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = 8
CODE_PATTERN = re.compile(f"[{ALPHABET}]{{{CODE_LENGTH}}}")
# A QR code keeps four modules of white around it (the quiet zone, ISO/IEC 18004), and
# corrects up to 25 % damage (level Q: a dirty or creased poster still scans).
QUIET_ZONE = 4
ERROR_CORRECTION = ERROR_CORRECT_Q
SVG_WIDTH_MM = 60
TARGET_MODELS = {LinkTarget.VOTE: Vote, LinkTarget.SURVEY: Survey, LinkTarget.NOTICE: Notice}


@path_resolver("link_id")
def get_link(link_id: int, principal: Principal) -> ShortLink:
    return get_scoped(ShortLink, link_id, principal)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def target_compound(target: LinkTarget, target_id: int | None, compound: Compound) -> int:
    """The id a link of ``target`` names: the compound itself, or a vote, survey or notice of
    that compound (else 404: a link cannot point into another compound)."""
    if target is LinkTarget.COMPOUND:
        return compound.id
    model = TARGET_MODELS[target]
    obj = db.session.get(model, target_id) if target_id else None
    if obj is None or obj.compound_id != compound.id:
        raise not_found("该小区没有这个表决、问卷或公告")
    return obj.id


def current_link(target: LinkTarget, target_id: int) -> ShortLink | None:
    return db.session.scalar(
        select(ShortLink).where(
            ShortLink.target == target,
            ShortLink.target_id == target_id,
            ShortLink.rotated_at.is_(None),
        )
    )


def current_links(compound_id: int):
    """``SELECT`` the compound's current links, oldest first."""
    return (
        select(ShortLink)
        .where(ShortLink.compound_id == compound_id, ShortLink.rotated_at.is_(None))
        .order_by(ShortLink.id)
    )


def ensure_link(
    compound: Compound, target: LinkTarget, target_id: int | None, staff_id: int | None
) -> tuple[ShortLink, bool]:
    """The target's current link, made if it has none: (link, created). Two requests at
    once make one link (the partial unique index; the loser reads the winner's)."""
    target_id = target_compound(target, target_id, compound)
    link = current_link(target, target_id)
    if link is not None:
        return link, False
    try:
        with db.session.begin_nested():
            link = ShortLink(
                code=new_code(),
                compound_id=compound.id,
                target=target,
                target_id=target_id,
                created_by_id=staff_id,
            )
            db.session.add(link)
    except IntegrityError:
        return current_link(target, target_id), False
    return link, True


def rotate(link: ShortLink, staff_id: int | None) -> ShortLink:
    """A new code for the link's target; the old link points to it from now on."""
    db.session.refresh(link, with_for_update=True)
    if link.rotated_at is not None:
        raise conflict("link_rotated", "该链接已经更换过，请更换当前的链接")
    link.rotated_at = db_now()
    db.session.flush()
    fresh = ShortLink(
        code=new_code(),
        compound_id=link.compound_id,
        target=link.target,
        target_id=link.target_id,
        created_by_id=staff_id,
    )
    db.session.add(fresh)
    db.session.flush()
    link.replaced_by_id = fresh.id
    db.session.flush()
    return fresh


def require_current(link: ShortLink) -> None:
    """Printing a rotated link would put a dead code on the board: 409."""
    if link.rotated_at is not None:
        raise conflict(
            "link_rotated",
            "该链接已更换，请使用新的链接打印",
            {"replaced_by_id": [str(link.replaced_by_id)]},
        )


def find(code: str) -> tuple[ShortLink, ShortLink]:
    """(the link of ``code``, its current successor: itself unless rotated), else 404."""
    if not CODE_PATTERN.fullmatch(code):
        raise not_found()
    link = db.session.scalar(select(ShortLink).where(ShortLink.code == code))
    if link is None:
        raise not_found()
    current = link
    for _ in range(1000):  # a chain of rotations; bounded against a cycle that cannot be
        if current.replaced_by_id is None:
            break
        current = db.session.get(ShortLink, current.replaced_by_id)
    return link, current


def target_path(link: ShortLink) -> str:
    """Where a link leads inside this site: a notice's own page, or the compound's H5
    landing page, opened on the vote or survey it names."""
    if link.target is LinkTarget.NOTICE:
        return f"/notices/{link.target_id}"
    query = {"compound": link.compound_id}
    if link.target is not LinkTarget.COMPOUND:
        query[link.target.value] = link.target_id
    return "/h5/?" + urlencode(query)


def link_url(link: ShortLink, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/c/{link.code}"


# QR codes -------------------------------------------------------------------------------------


def _qr(url: str, box_size: int = 1) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=QUIET_ZONE, box_size=box_size)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_image(url: str, width: int) -> Image.Image:
    """The QR code as a black-and-white image of at most ``width`` pixels (quiet zone
    included), each module a whole number of pixels, so no module is blurred."""
    code = _qr(url)
    modules = code.modules_count + 2 * QUIET_ZONE
    if width < modules * 2:
        raise ApiError(422, "qr_too_small", f"二维码至少需要 {modules * 2} 像素宽")
    image = code.make_image(fill_color="black", back_color="white").get_image()
    return image.resize((modules * (width // modules),) * 2, Image.NEAREST)


def qr_png(url: str, width: int) -> bytes:
    out = io.BytesIO()
    qr_image(url, width).save(out, "PNG", optimize=True)
    return out.getvalue()


def qr_svg(url: str) -> bytes:
    """The QR code as SVG paths on white (scales to any size), quiet zone included; its
    nominal size is about 6 cm (qrcode's SVG unit: a tenth of a millimetre per box size)."""
    modules = _qr(url).modules_count + 2 * QUIET_ZONE
    box_size = -(-SVG_WIDTH_MM * 10 // modules)
    image = _qr(url, box_size).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


@provide_compound_link
def compound_link_url(compound_id: int) -> str | None:
    """For ``common.links.compound_link``: the compound's current link as a full URL, made if
    it has none (flushes). The site's address is ``PUBLIC_BASE_URL``, else the current
    request's; None outside a request without it (a job)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base and has_request_context():
        base = request.url_root
    compound = db.session.get(Compound, compound_id)
    if not base or compound is None:
        return None
    link, _ = ensure_link(compound, LinkTarget.COMPOUND, None, None)
    return link_url(link, base)
