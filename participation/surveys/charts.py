"""Bar charts as PNG, drawn with Pillow, with Chinese labels.

Generic: ``bar_chart(title, bars)`` draws one horizontal bar per ``(label, value_text, value)``
— the label on the left, the bar, and ``value_text`` at its end — over an axis with ticks.
Bar lengths are exact (``int`` or ``Fraction``) until they become pixels.

The text is drawn with ``common.fonts.font``: a system CJK font when there is one, else the
font shipped with the project; 503 ``chart_font_missing`` only for a broken installation.
"""

from __future__ import annotations

import io
from fractions import Fraction

from PIL import Image, ImageDraw

from participation.common.fonts import font

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
