"""Bar charts as PNG, drawn with Pillow, with Chinese labels.

Generic: ``bar_chart(title, bars)`` draws one horizontal bar per ``(label, value_text, value)``
— the label on the left, the bar, and ``value_text`` at its end — over an axis with ticks.
Bar lengths are exact (``int`` or ``Fraction``) until they become pixels.

The text needs a CJK font. One is looked for once (Noto Sans CJK from Debian's
``fonts-noto-cjk`` at its known path, then ``fc-list :lang=zh-cn``) and kept; every candidate
must draw real, distinct glyphs for Chinese characters. Without one, :class:`NoCJKFont` (an
HTTP 503 naming the package) is raised instead of drawing boxes.
"""

from __future__ import annotations

import functools
import io
import logging
import shutil
import subprocess
from fractions import Fraction

from PIL import Image, ImageDraw, ImageFont

from participation.common.errors import ApiError

log = logging.getLogger(__name__)

FONT_PACKAGE = "fonts-noto-cjk"
KNOWN_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)
PREFERRED_FAMILY = "Noto Sans CJK SC"
PROBE = "满意度"  # characters every candidate font must draw as distinct real glyphs
MISSING = "\U000ffffd"  # a private-use code point no font maps: draws the .notdef box

WIDTH = 900
MARGIN = 24
ROW = 44
BAR = 26
TITLE_SIZE = 26
TEXT_SIZE = 18
LABEL_MAX = 300  # px; longer labels are cut with "…"
VALUE_SPACE = 170  # px right of the longest bar for its value text
TICKS = 4
COLOURS = {
    "background": "#ffffff",
    "text": "#222222",
    "axis": "#555555",
    "grid": "#e3e3e3",
    "bar": "#3b7dd8",
    "reference": "#d9534f",
}

Bar = tuple[str, str, Fraction | int]


class NoCJKFont(ApiError):
    """No font on the server draws Chinese: a chart would show boxes."""

    def __init__(self):
        super().__init__(
            503,
            "chart_font_missing",
            f"服务器未安装中文字体，暂时无法生成图表（请安装 {FONT_PACKAGE} 软件包）",
        )


def glyph(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    """The bitmap ``font`` draws for ``char`` (its size and pixels)."""
    mask = font.getmask(char)
    return repr(mask.size).encode() + bytes(mask)


def draws_chinese(font: ImageFont.FreeTypeFont) -> bool:
    """Whether the font draws the probe characters as real glyphs: all different from each
    other and from the missing-glyph box (a font without them draws one box for all)."""
    glyphs = {glyph(font, char) for char in PROBE + MISSING}
    return len(glyphs) == len(PROBE) + 1


def _faces(path: str) -> list[tuple[str, int, str]]:
    """(path, index, family) of every face in a font file (a .ttc holds several)."""
    faces = []
    for index in range(32):
        try:
            family = ImageFont.truetype(path, 10, index=index).getname()[0] or ""
        except OSError:
            break
        faces.append((path, index, family))
    return faces


def _fc_list() -> list[tuple[str, int, str]]:
    if shutil.which("fc-list") is None:
        return []
    try:
        listing = subprocess.run(
            ["fc-list", ":lang=zh-cn", "--format", "%{file}|%{index}|%{family[0]}\n"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    faces = []
    for line in listing.splitlines():
        path, _, rest = line.partition("|")
        index, _, family = rest.partition("|")
        if path and index.isdigit():
            faces.append((path, int(index), family))
    return faces


def _rank(face: tuple[str, int, str]) -> tuple:
    family = face[2]
    return (family != PREFERRED_FAMILY, "Sans" not in family, "Mono" in family, "SC" not in family)


@functools.cache
def cjk_font_face() -> tuple[str, int]:
    """(path, index) of a font face that draws Chinese; found once, then cached. A failure
    is not cached, so installing the package is enough."""
    known = [face for path in KNOWN_FONTS for face in _faces(path)]
    for path, index, family in sorted(known, key=_rank) + sorted(_fc_list(), key=_rank):
        try:
            font = ImageFont.truetype(path, TEXT_SIZE, index=index)
        except OSError:
            continue
        if draws_chinese(font):
            log.info("chart font: %s (%s, face %d)", family, path, index)
            return path, index
    log.error("no CJK font found for charts; install %s", FONT_PACKAGE)
    raise NoCJKFont()


@functools.cache
def font(size: int) -> ImageFont.FreeTypeFont:
    path, index = cjk_font_face()
    return ImageFont.truetype(path, size, index=index)


def _fit(draw: ImageDraw.ImageDraw, text: str, face, width: int) -> str:
    if draw.textlength(text, font=face) <= width:
        return text
    while text and draw.textlength(text + "…", font=face) > width:
        text = text[:-1]
    return text + "…"


def _nice_maximum(value: Fraction | int) -> Fraction | int:
    """The axis end for counts: the smallest multiple of TICKS × (1, 2 or 5 × 10ⁿ) ≥ value."""
    if value <= 0:
        return TICKS
    step = 1
    while True:
        for factor in (1, 2, 5):
            if TICKS * step * factor >= value:
                return TICKS * step * factor
        step *= 10


def _tick_text(value: Fraction | int, percent: bool) -> str:
    if percent:
        return f"{round(Fraction(value) * 100)}%"
    return str(round(Fraction(value)))


def bar_chart(
    title: str,
    bars: list[Bar],
    *,
    percent: bool = False,
    maximum: Fraction | int | None = None,
    reference: tuple[str, Fraction] | None = None,
) -> bytes:
    """A horizontal bar chart as PNG bytes.

    ``bars``: ``(label, value_text, value)``; ``value`` (≥ 0, ``int`` or ``Fraction``) sets
    the bar's length, ``value_text`` is written at its end. ``percent``: values are ratios,
    the axis runs to 100% and its ticks are percentages; otherwise counts, the axis runs to a
    round number ≥ the largest value. ``maximum`` overrides the axis end. ``reference``: a
    labelled vertical line at that value (e.g. a pass threshold).
    """
    if any(value < 0 for _, _, value in bars):
        raise ValueError("bar values must not be negative")
    if maximum is None:
        maximum = 1 if percent else _nice_maximum(max((v for _, _, v in bars), default=0))
    title_font, text_font = font(TITLE_SIZE), font(TEXT_SIZE)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    labels = [_fit(probe, label, text_font, LABEL_MAX) for label, _, _ in bars]
    label_width = max((int(probe.textlength(t, font=text_font)) for t in labels), default=0)

    left = MARGIN + label_width + 12
    right = WIDTH - MARGIN - VALUE_SPACE
    top = MARGIN + TITLE_SIZE + 24 + (TEXT_SIZE + 8 if reference else 0)
    bottom = top + ROW * max(len(bars), 1)
    height = bottom + TEXT_SIZE + 16 + MARGIN
    span = right - left

    def x_of(value: Fraction | int) -> int:
        return left + round(Fraction(min(value, maximum)) / Fraction(maximum) * span)

    image = Image.new("RGB", (WIDTH, height), COLOURS["background"])
    draw = ImageDraw.Draw(image)
    draw.text(
        (WIDTH // 2, MARGIN),
        _fit(draw, title, title_font, WIDTH - 2 * MARGIN),
        font=title_font,
        fill=COLOURS["text"],
        anchor="mt",
    )
    for tick in range(TICKS + 1):
        value = Fraction(maximum) * tick / TICKS
        x = x_of(value)
        draw.line([(x, top), (x, bottom)], fill=COLOURS["grid"])
        draw.line([(x, bottom), (x, bottom + 5)], fill=COLOURS["axis"])
        draw.text(
            (x, bottom + 8),
            _tick_text(value, percent),
            font=text_font,
            fill=COLOURS["axis"],
            anchor="mt",
        )
    rows = [top + ROW * row + ROW // 2 for row in range(len(bars))]
    for middle, label, (_, _, value) in zip(rows, labels, bars, strict=True):
        draw.text((left - 12, middle), label, font=text_font, fill=COLOURS["text"], anchor="rm")
        end = x_of(value)
        if end > left:
            draw.rectangle(
                [(left, middle - BAR // 2), (end, middle + BAR // 2)], fill=COLOURS["bar"]
            )
    draw.line([(left, top), (left, bottom)], fill=COLOURS["axis"], width=2)
    draw.line([(left, bottom), (right, bottom)], fill=COLOURS["axis"], width=2)
    if reference:
        text, value = reference
        x = x_of(value)
        for y in range(top, bottom, 8):  # dashed
            draw.line([(x, y), (x, min(y + 4, bottom))], fill=COLOURS["reference"], width=2)
        draw.text((x, top - 6), text, font=text_font, fill=COLOURS["reference"], anchor="mb")
    for middle, (_, value_text, value) in zip(rows, bars, strict=True):
        at = (x_of(value) + 8, middle)
        box = draw.textbbox(at, value_text, font=text_font, anchor="lm")
        draw.rectangle(
            [(box[0] - 3, box[1] - 3), (box[2] + 3, box[3] + 3)], fill=COLOURS["background"]
        )
        draw.text(at, value_text, font=text_font, fill=COLOURS["text"], anchor="lm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
