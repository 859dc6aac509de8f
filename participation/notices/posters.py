"""Posters for the notice board: A4 portrait at 300 dpi, as PNG and as PDF.

What a resident in a dim stairwell needs, top to bottom: the compound's name, what is asked of
them (the campaign's title and deadline, or the notice's title), the QR code (7 cm wide, well
over the 5 cm a phone needs from arm's length, with its quiet zone), three steps in plain
words, the address to type by hand, and who organises it with a phone number for help.
Long names and titles wrap (and shrink a size or two if they must); nothing runs off the page.

Drawn on a two-colour palette image ("P" mode: dark red and black on white), which a printer
renders crisply and which encodes in a fraction of the time of full colour.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw

from participation.common.charts import wrap
from participation.common.fonts import font
from participation.common.schemas import local_time
from participation.extensions import db
from participation.notices.links import qr_image
from participation.notices.models import LinkTarget, Notice, NoticeKind, ShortLink
from participation.notices.services import campaign_label
from participation.roster.models import Compound
from participation.surveys.models import Survey
from participation.votes.models import Vote

DPI = 300
WIDTH, HEIGHT = 2480, 3508  # A4 at 300 dpi
MARGIN = 180  # 15 mm
QR_WIDTH = 827  # 7 cm
# The palette: white paper, near-black ink, a dark red (white on it: contrast 7:1), grey.
PALETTE = (255, 255, 255, 20, 20, 20, 176, 18, 24, 80, 80, 80)
WHITE, INK, RED, GREY = range(4)
STEPS = ("扫描二维码", "手机验证码登录", "{action}")


@dataclass(frozen=True)
class Poster:
    compound: str
    heading: str  # 表决 / 改造意愿征集 / 公告 …
    title: str
    deadline: str | None  # "2026年12月20日 18:00"
    action: str  # 投票 / 填写 / 查看
    url: str
    organiser: str
    phone: str


def fit(text: str, sizes: tuple[int, ...], width: int, max_lines: int, bold: bool = True):
    """(face, lines) at the largest of ``sizes`` whose wrapping (``common.charts.wrap``: CJK
    breaks anywhere, Latin words stay whole, no closing mark starts a line) needs at most
    ``max_lines`` lines; at the smallest, the last line ends in … when even that is not
    enough."""
    for size in sizes:
        face = font(size, bold)
        lines = wrap(text, face, width, max_lines=len(text) + 1)
        if len(lines) <= max_lines:
            return face, lines
    return face, wrap(text, face, width, max_lines)


def _centered(draw, y: int, lines: list[str], face, fill, spacing: float = 1.3) -> int:
    """Draw lines centred on the page from ``y``; the y below them."""
    height = int(face.size * spacing)
    for line in lines:
        draw.text((WIDTH // 2, y), line, font=face, fill=fill, anchor="mt")
        y += height
    return y


def render(poster: Poster) -> Image.Image:
    image = Image.new("P", (WIDTH, HEIGHT), WHITE)
    image.putpalette(PALETTE)
    draw = ImageDraw.Draw(image)
    inner = WIDTH - 2 * MARGIN

    # The header band: the compound, as large as it fits on two lines.
    face, lines = fit(poster.compound, (150, 130, 110, 96), inner, 2)
    band = 140 + len(lines) * int(face.size * 1.3) + 60
    draw.rectangle((0, 0, WIDTH, band), fill=RED)
    _centered(draw, 140, lines, face, WHITE)

    y = band + 110
    y = _centered(draw, y, [poster.heading], font(96, True), RED) + 30
    face, lines = fit(poster.title, (120, 104, 92, 80), inner, 3)
    y = _centered(draw, y, lines, face, INK) + 20
    if poster.deadline:
        y = _centered(draw, y, [f"截止时间：{poster.deadline}"], font(80, True), INK)

    # The QR code with a thin frame, centred in the space left above the steps.
    steps_top = HEIGHT - 1060
    qr = qr_image(poster.url, QR_WIDTH)
    top = y + max(60, (steps_top - y - qr.height - 170) // 2)
    left = (WIDTH - qr.width) // 2
    draw.rectangle(
        (left - 12, top - 12, left + qr.width + 12, top + qr.height + 12), outline=INK, width=6
    )
    image.paste(INK, (left, top, left + qr.width, top + qr.height), mask=_dark(qr))
    image.info["qr_box"] = (left, top, left + qr.width, top + qr.height)  # for the tests
    image.info["band"] = band
    y = top + qr.height + 50
    y = _centered(draw, y, ["用手机扫一扫"], font(84, True), INK)
    face, lines = fit(poster.url, (56, 48, 40), inner, 2, bold=False)
    _centered(draw, y + 10, lines, face, GREY)

    _steps(draw, steps_top, poster.action)

    # Footer, from the bottom up: a note, the help phone, the organiser.
    face, lines = fit(f"主办：{poster.organiser}", (64, 56, 48), inner, 2, bold=False)
    y = HEIGHT - 360 - len(lines) * int(face.size * 1.3)
    y = _centered(draw, y, lines, face, INK)
    _centered(draw, y + 10, [f"咨询电话：{poster.phone}"], font(72, True), INK)
    note = "不方便用手机的居民，可到社区居委会填写纸质表，或请家人帮忙。"
    face, lines = fit(note, (52, 46, 40), inner, 2, bold=False)
    _centered(draw, HEIGHT - 190, lines, face, GREY)
    return image


def _steps(draw: ImageDraw.ImageDraw, top: int, action: str) -> None:
    """Three numbered steps side by side, joined by arrows."""
    column = (WIDTH - 2 * MARGIN) // 3
    radius = 90
    number_face = font(110, True)
    for index, text in enumerate(STEPS):
        centre = MARGIN + column * index + column // 2
        draw.ellipse((centre - radius, top, centre + radius, top + 2 * radius), fill=RED)
        draw.text((centre, top + radius), str(index + 1), font=number_face, fill=WHITE, anchor="mm")
        face, lines = fit(text.format(action=action), (72, 62, 54), column - 40, 2)
        y = top + 2 * radius + 40
        for line in lines:
            draw.text((centre, y), line, font=face, fill=INK, anchor="mt")
            y += int(face.size * 1.3)
        if index < 2:
            x = MARGIN + column * (index + 1)
            draw.polygon(
                [(x - 30, top + radius - 40), (x + 30, top + radius), (x - 30, top + radius + 40)],
                fill=GREY,
            )


def _dark(qr: Image.Image) -> Image.Image:
    """A mask of the QR code's dark modules."""
    return qr.convert("L").point(lambda value: 255 - value)


def to_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(DPI, DPI), compress_level=3)
    return out.getvalue()


def to_pdf(image: Image.Image, title: str) -> bytes:
    """One A4 page: the image at 300 dpi (JPEG inside: Pillow would write a palette image
    as uncompressed hex, 17 MB a page), titled for the printer's queue."""
    out = io.BytesIO()
    image.convert("RGB").save(out, "PDF", resolution=DPI, title=title, quality=80)
    return out.getvalue()


# What a link's poster says ------------------------------------------------------------------

COMPOUND_TITLE = "扫码查看本小区的意愿征集、表决、公示和通知，参与改造的每一步"


def organiser_of(compound: Compound) -> str:
    """The compound's community committee (居民委员会), by default."""
    return f"{compound.community.name}居民委员会"


def poster_for(link: ShortLink, url: str, organiser: str | None, phone: str) -> Poster:
    """The poster of a link: the compound's own, or a campaign's or notice's."""
    compound = db.session.get(Compound, link.compound_id)
    heading, title, deadline, action = "老旧小区改造 居民参与", COMPOUND_TITLE, None, "参与"
    if link.target is LinkTarget.VOTE:
        vote = db.session.get(Vote, link.target_id)
        heading, title, action = "表决", vote.title, "投票"
        deadline = local_time(vote.closes_at)
    elif link.target is LinkTarget.SURVEY:
        survey = db.session.get(Survey, link.target_id)
        heading, title, action = campaign_label("survey", survey), survey.title, "填写"
        deadline = local_time(survey.closes_at)
    elif link.target is LinkTarget.NOTICE:
        notice = db.session.get(Notice, link.target_id)
        heading = "结果公示" if notice.kind is NoticeKind.RESULT else "公告"
        title, action = notice.title, "查看"
    return Poster(
        compound=compound.name,
        heading=heading,
        title=title,
        deadline=deadline,
        action=action,
        url=url,
        organiser=organiser or organiser_of(compound),
        phone=phone,
    )
