"""Bar charts as PNG, drawn with Pillow, with Chinese labels: the drawing every result's chart
shares (``surveys/charts.py`` and ``votes/charts.py`` turn a result into panels of bars).

A chart is, from the top: a title, lines of text (the rule, the outcome), a legend, panels and
notes. A :class:`Panel` is horizontal bars over an axis. A :class:`Bar` has a label on the left
(wrapped to two lines, then cut with "…"), one segment or several stacked, a text written after
its end and an optional caption under it. A :class:`Reference` is a dashed, labelled line at a
value (a threshold). Values are exact (``int`` or ``Fraction``) until they become pixels; a
value past the axis end is drawn to the end. Nothing is drawn outside the canvas: every text is
wrapped or cut to the room it has.

A chart with nothing to show draws 暂无数据 in its plot area, with a sentence saying why,
instead of empty axes (:func:`no_data`; a panel without bars does the same in its place).

Colours: the Okabe–Ito palette, told apart with every kind of colour vision; a series that
could be mistaken for another in grey print is hatched, and charts say in text what colour
says (a mark such as ✓ 纳入). Every text colour has at least 4.5:1 contrast on the background
(``TEXT_COLOURS``). The output is PNG bytes, deterministic: the same input and font give the
same bytes. The font is ``common.fonts`` (a system CJK font, else the shipped one).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from PIL import Image, ImageColor, ImageDraw, ImageFont

from participation.common.fonts import font
from participation.common.schemas import SHANGHAI

Number = int | Fraction
Font = ImageFont.FreeTypeFont

WIDTH = 1200
MARGIN = 40
TITLE_SIZE = 34
TEXT_SIZE = 24
SMALL_SIZE = 20
GAP = 10  # between blocks of text
BAR = 32  # bar thickness
ROW_PAD = 12  # above and below each row
LABEL_MAX = 280  # px: the label column at most
VALUE_MIN, VALUE_MAX = 150, 420  # px: the room right of the axis end for the texts
TICKS = 4
NO_DATA = "暂无数据"

# Okabe & Ito (2008), "Color Universal Design".
BLUE = "#0072B2"
VERMILLION = "#D55E00"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
GREEN = "#009E73"
PURPLE = "#CC79A7"
GREY = "#D9D9D9"  # "nothing yet": the bar's outline shows its extent

COLOURS = {
    "background": "#ffffff",
    "text": "#1a1a1a",
    "muted": "#595959",  # ticks, captions, notes
    "reference": "#a33a00",  # the threshold line and its label
    "grid": "#e6e6e6",
    "axis": "#4d4d4d",
    "outline": "#4d4d4d",
    "frame": "#bfbfbf",
    "hatch": "#ffffff",
}
TEXT_COLOURS = ("text", "muted", "reference")


@dataclass(frozen=True)
class Style:
    """A series: its legend label, fill colour and whether it is hatched."""

    label: str
    fill: str
    hatch: bool = False


@dataclass(frozen=True)
class Bar:
    """A row: ``segments`` are (style, value ≥ 0), stacked from the axis start."""

    label: str
    segments: Sequence[tuple[Style, Number]]
    text: str = ""  # after the bar's end
    caption: str = ""  # under the bar, from the axis start


@dataclass(frozen=True)
class Reference:
    value: Number
    label: str


@dataclass(frozen=True)
class Panel:
    """Bars over one axis. ``percent``: values are ratios, the axis runs to 100% (ticks in
    percent); else counts, to a round number ≥ the largest bar (or ``maximum``)."""

    bars: Sequence[Bar]
    heading: str = ""
    percent: bool = False
    maximum: Number | None = None
    references: Sequence[Reference] = ()
    empty: str = ""  # why there are no bars, under 暂无数据


@dataclass(frozen=True)
class Line:
    text: str
    bold: bool = False


def exact(value: Number | Decimal | str) -> Fraction:
    """An exact value from an int, Fraction, Decimal or a decimal string ("12.50")."""
    return Fraction(Decimal(value)) if isinstance(value, str) else Fraction(value)


# Text ------------------------------------------------------------------------------------

_PROBE = ImageDraw.Draw(Image.new("RGB", (1, 1)))
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.,%/:²-]*|.", re.DOTALL)
CLOSING = set("，。、；：！？）》」』】〕…%％,.;:!?)]")  # not at the start of a line


def text_width(text: str, face: Font) -> float:
    return _PROBE.textlength(text, font=face)


def _tokens(text: str) -> list[str]:
    """Latin words and numbers ("66.67%", "1,234.50") stay whole; any other character is a
    token of its own."""
    return WORD.findall(text)


def fit(text: str, face: Font, width: float) -> str:
    """``text``, cut with "…" to ``width`` px."""
    if text_width(text, face) <= width:
        return text
    while text and text_width(text + "…", face) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def wrap(text: str, face: Font, width: float, max_lines: int = 2) -> list[str]:
    """``text`` in lines of at most ``width`` px, at most ``max_lines`` (the last cut with
    "…" when text remains). CJK text breaks between any two characters, a Latin word or a
    number only where it must; closing punctuation does not start a line (the token before
    it goes down with it)."""
    lines: list[str] = []
    line: list[str] = []  # the tokens of the line being filled
    tokens = _tokens(text)
    while tokens:
        token = tokens[0]
        if text_width("".join(line) + token, face) <= width:
            line.append(tokens.pop(0))
            continue
        if not line:  # a single token wider than the line: break it by characters
            head = token
            while len(head) > 1 and text_width(head, face) > width:
                head = head[:-1]
            line, tokens[0] = [head], token[len(head) :]
            if not tokens[0]:
                tokens.pop(0)
        elif token[0] in CLOSING:
            down = 1
            while down < len(line) and line[-down][0] in CLOSING:
                down += 1
            if down < len(line):
                tokens[:0], line = line[-down:], line[:-down]
        lines.append("".join(line).rstrip())
        line = []
        if len(lines) == max_lines and tokens:
            rest = "".join(tokens)
            lines[-1] = fit(lines[-1] + rest, face, width) if rest.strip() else lines[-1]
            return lines
    if line or not lines:
        lines.append("".join(line).rstrip())
    return lines


def line_height(face: Font) -> int:
    return round(face.size * 1.4)


# Layout: operations recorded while the height grows, run on the final canvas -------------


@dataclass
class _Canvas:
    """Drawing operations recorded while the layout moves ``y`` down, run on a canvas of the
    height reached (so the height is known before anything is drawn)."""

    y: int = MARGIN
    ops: list[tuple[Callable, tuple]] = field(default_factory=list)

    def draw(self, op: Callable, *args) -> None:
        """``op(draw, image, *args)`` on the final canvas."""
        self.ops.append((op, args))

    def text(self, xy, text: str, face: Font, colour: str = "text", anchor: str = "la") -> None:
        self.draw(_text, xy, text, face, colour, anchor)

    def line(self, points, colour: str, width: int = 1) -> None:
        self.draw(_line, points, colour, width)

    def outline(self, box, colour: str, width: int = 1) -> None:
        self.draw(_outline, box, colour, width)

    def block(
        self,
        text: str,
        face: Font,
        colour: str = "text",
        *,
        x: int = MARGIN,
        width: int = WIDTH - 2 * MARGIN,
        max_lines: int = 3,
    ) -> None:
        """Wrapped text from the current y; the y moves below it."""
        for line in wrap(text, face, width, max_lines):
            self.text((x, self.y), line, face, colour)
            self.y += line_height(face)

    def png(self) -> bytes:
        image = Image.new("RGB", (WIDTH, self.y + MARGIN), COLOURS["background"])
        draw = ImageDraw.Draw(image)
        for op, args in self.ops:
            op(draw, image, *args)
        fills = [arg.fill for _, args in self.ops for arg in args if isinstance(arg, Style)]
        out = io.BytesIO()
        _palette(image, [*COLOURS.values(), *fills]).save(out, format="PNG", optimize=True)
        return out.getvalue()


def _palette(image: Image.Image, exact: Sequence[str]) -> Image.Image:
    """The image in 256 colours (median cut, no dithering): a third of the bytes, rare shades of
    anti-aliased text merged into their neighbours. Kept only if every ``exact`` colour (fills,
    text, lines) survives on at least as many pixels (it may absorb a neighbouring shade, it
    must not become one); else the full-colour image. Deterministic."""
    quantized = image.quantize(
        colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    before = {colour: count for count, colour in image.getcolors(WIDTH * image.size[1])}
    after = {colour: count for count, colour in quantized.convert("RGB").getcolors(256)}
    for colour in {ImageColor.getrgb(c) for c in exact}:
        if after.get(colour, 0) < before.get(colour, 0):
            return image
    return quantized


def _text(draw, _image, xy, text: str, face: Font, colour: str, anchor: str) -> None:
    draw.text(xy, text, font=face, fill=COLOURS[colour], anchor=anchor)


def _line(draw, _image, points, colour: str, width: int) -> None:
    draw.line(points, fill=COLOURS[colour], width=width)


def _boxed_text(draw, _image, xy, text: str, face: Font, colour: str, anchor: str) -> None:
    """Text on a background box, so that a line it crosses stops at it."""
    left, top, right, bottom = draw.textbbox(xy, text, font=face, anchor=anchor)
    draw.rectangle([(left - 3, top - 2), (right + 3, bottom + 2)], fill=COLOURS["background"])
    draw.text(xy, text, font=face, fill=COLOURS[colour], anchor=anchor)


def _outline(draw, _image, box, colour: str, width: int) -> None:
    draw.rectangle(box, outline=COLOURS[colour], width=width)


def _fill(draw: ImageDraw.ImageDraw, image: Image.Image, box, style: Style) -> None:
    x0, y0, x1, y1 = box
    draw.rectangle([(x0, y0), (x1, y1)], fill=style.fill)
    if style.hatch and x1 > x0:
        tile = Image.new("RGB", (x1 - x0 + 1, y1 - y0 + 1), style.fill)
        tile_draw = ImageDraw.Draw(tile)
        height = y1 - y0
        for start in range(-height, x1 - x0 + 1, 10):  # lines rising to the right
            tile_draw.line([(start, height), (start + height, 0)], fill=COLOURS["hatch"], width=3)
        image.paste(tile, (x0, y0))


def _dashed(draw, _image, x: int, top: int, bottom: int, band: bool) -> None:
    """A dashed vertical line; on a white band (``band``) where it crosses a bar."""
    if band:
        draw.line([(x, top), (x, bottom)], fill=COLOURS["background"], width=7)
    for y in range(top, bottom, 12):
        draw.line([(x, y), (x, min(y + 7, bottom))], fill=COLOURS["reference"], width=3)


def _swatch(draw, image, x: int, y: int, style: Style, size: int) -> None:
    box = (x, y, x + round(size * 1.4), y + size)
    _fill(draw, image, box, style)
    draw.rectangle([box[:2], box[2:]], outline=COLOURS["outline"], width=1)


def _title(canvas: _Canvas, title: str) -> None:
    canvas.block(title, font(TITLE_SIZE, bold=True), max_lines=2)
    canvas.y += GAP // 2


def _lines(canvas: _Canvas, lines: Sequence[Line | str]) -> None:
    for line in lines:
        line = Line(line) if isinstance(line, str) else line
        canvas.block(line.text, font(TEXT_SIZE, bold=line.bold))
    if lines:
        canvas.y += GAP // 2


def _legend(canvas: _Canvas, legend: Sequence[Style]) -> None:
    """A swatch and its label per series, in rows; a label takes at most half the width."""
    if not legend:
        return
    face = font(TEXT_SIZE)
    size = SMALL_SIZE
    swatch = round(size * 1.4) + 8
    x, y = MARGIN, canvas.y
    for style in legend:
        label = fit(style.label, face, WIDTH / 2)
        width = swatch + round(text_width(label, face))
        if x > MARGIN and x + width > WIDTH - MARGIN:
            x, y = MARGIN, y + line_height(face)
        middle = y + line_height(face) // 2
        canvas.draw(_swatch, x, middle - size // 2, style, size)
        canvas.text((x + swatch, middle), label, face, anchor="lm")
        x += width + 28
    canvas.y = y + line_height(face) + GAP


def _nice_maximum(value: Number) -> int:
    """The axis end for counts: the smallest TICKS × (1, 2 or 5 × 10ⁿ) ≥ value."""
    if value <= 0:
        return TICKS
    step = 1
    while True:
        for factor in (1, 2, 5):
            if TICKS * step * factor >= value:
                return TICKS * step * factor
        step *= 10


def _tick_text(value: Fraction, percent: bool) -> str:
    if percent:
        return f"{round(value * 100)}%"
    return str(round(value))


@dataclass(frozen=True)
class _Geometry:
    left: int  # the axis start
    right: int  # the axis end


def _geometry(panels: Sequence[Panel]) -> _Geometry:
    face = font(TEXT_SIZE)
    bars = [bar for panel in panels for bar in panel.bars]
    label = max(
        (text_width(line, face) for bar in bars for line in wrap(bar.label, face, LABEL_MAX)),
        default=0,
    )
    value = max((text_width(bar.text, face) for bar in bars), default=0) + 16
    left = MARGIN + round(min(label, LABEL_MAX)) + 16
    right = WIDTH - MARGIN - round(min(max(value, VALUE_MIN), VALUE_MAX))
    return _Geometry(left, right)


def _empty_box(canvas: _Canvas, detail: str, height: int = 240, x0: int = MARGIN) -> None:
    """The plot area with 暂无数据 and why, in place of empty axes."""
    top = canvas.y
    box = [(x0, top), (WIDTH - MARGIN, top + height)]
    canvas.outline(box, "frame", 2)
    big, small = font(TITLE_SIZE, bold=True), font(TEXT_SIZE)
    lines = wrap(detail, small, WIDTH - MARGIN - x0 - 80, 2) if detail else []
    used = line_height(big) + len(lines) * line_height(small)
    canvas.y = top + (height - used) // 2
    middle = (x0 + WIDTH - MARGIN) // 2
    canvas.text((middle, canvas.y), NO_DATA, big, anchor="ma")
    canvas.y += line_height(big)
    for line in lines:
        canvas.text((middle, canvas.y), line, small, "muted", anchor="ma")
        canvas.y += line_height(small)
    canvas.y = top + height + GAP


def _panel(canvas: _Canvas, panel: Panel, geometry: _Geometry) -> None:
    face, small = font(TEXT_SIZE), font(SMALL_SIZE)
    if panel.heading:
        canvas.block(panel.heading, font(TEXT_SIZE, bold=True), max_lines=2)
        canvas.y += GAP // 2
    if not panel.bars:
        _empty_box(canvas, panel.empty, height=180)
        return
    if any(value < 0 for bar in panel.bars for _, value in bar.segments):
        raise ValueError("bar values must not be negative")
    totals = [sum((exact(v) for _, v in bar.segments), Fraction(0)) for bar in panel.bars]
    if panel.maximum is not None:
        maximum = exact(panel.maximum)
    else:
        maximum = Fraction(1) if panel.percent else Fraction(_nice_maximum(max(totals)))
    left, right = geometry.left, geometry.right

    def x_of(value: Fraction) -> int:
        return left + round(min(max(value, Fraction(0)), maximum) / maximum * (right - left))

    # The references' labels, each on its own line above the plot.
    for reference in panel.references:
        x = x_of(exact(reference.value))
        label = fit(reference.label, face, WIDTH - 2 * MARGIN)
        half = text_width(label, face) / 2
        centre = round(min(max(x, MARGIN + half), WIDTH - MARGIN - half))
        canvas.text((centre, canvas.y), label, face, "reference", anchor="ma")
        canvas.y += line_height(face)
    top = canvas.y
    canvas.y += 4

    rows = []
    for bar, total in zip(panel.bars, totals, strict=True):
        labels = wrap(bar.label, face, LABEL_MAX)
        captions = wrap(bar.caption, small, WIDTH - MARGIN - left, 2) if bar.caption else []
        body = max(BAR, len(labels) * line_height(face))
        row_top = canvas.y + ROW_PAD
        middle = row_top + body // 2
        rows.append((bar, total, labels, captions, middle))
        canvas.y = row_top + body + len(captions) * line_height(small) + ROW_PAD
    bottom = canvas.y

    ticks = [(x_of(maximum * tick / TICKS), maximum * tick / TICKS) for tick in range(TICKS + 1)]
    lines = [x_of(exact(reference.value)) for reference in panel.references]
    for x, _ in ticks:
        canvas.line([(x, top), (x, bottom)], "grid")
    for x in lines:
        canvas.draw(_dashed, x, top, bottom, False)
    texts = []  # drawn last, over the lines
    for bar, total, labels, captions, middle in rows:
        label_top = middle - len(labels) * line_height(face) // 2
        for n, line in enumerate(labels):
            y = label_top + n * line_height(face) + line_height(face) // 2
            texts.append(((left - 14, y), line, face, "text", "rm"))
        box_top, box_bottom = middle - BAR // 2, middle + BAR // 2
        cumulative, x0 = Fraction(0), left
        for style, value in bar.segments:
            cumulative += exact(value)
            x1 = x_of(cumulative)
            if x1 > x0:
                canvas.draw(_fill, (x0, box_top, x1, box_bottom), style)
                if x0 > left:  # a seam between two segments
                    canvas.line([(x0, box_top), (x0, box_bottom)], "background", 2)
            x0 = x1
        end = x_of(total)
        if end > left:
            canvas.outline([(left, box_top), (end, box_bottom)], "outline")
        for x in lines:  # the threshold stays visible across the bar
            if left < x <= end:
                canvas.draw(_dashed, x, box_top - 3, box_bottom + 3, True)
        if bar.text:
            start = end + 10
            text = fit(bar.text, face, WIDTH - MARGIN - start)
            texts.append(((start, middle), text, face, "text", "lm"))
        caption_y = box_bottom + 6
        for line in captions:
            texts.append(((left, caption_y), line, small, "muted", "la"))
            caption_y += line_height(small)
    canvas.line([(left, top), (left, bottom)], "axis", 2)
    canvas.line([(left, bottom), (right, bottom)], "axis", 2)
    for x, value in ticks:
        canvas.line([(x, bottom), (x, bottom + 6)], "axis", 2)
        canvas.text((x, bottom + 9), _tick_text(value, panel.percent), small, "muted", "ma")
    for xy, text, text_face, colour, anchor in texts:
        canvas.draw(_boxed_text, xy, text, text_face, colour, anchor)
    canvas.y = bottom + 9 + line_height(small) + GAP * 2


def chart(
    title: str,
    panels: Sequence[Panel],
    *,
    lines: Sequence[Line | str] = (),
    legend: Sequence[Style] = (),
    notes: Sequence[str] = (),
    empty: str = "",
) -> bytes:
    """The chart as PNG bytes; :func:`no_data` (with ``empty``) when no panel has a bar."""
    if not any(panel.bars for panel in panels):
        return no_data(title, empty, lines=lines, notes=notes)
    canvas = _Canvas()
    _title(canvas, title)
    _lines(canvas, lines)
    _legend(canvas, legend)
    geometry = _geometry(panels)
    for panel in panels:
        _panel(canvas, panel, geometry)
    for note in notes:
        canvas.block(note, font(SMALL_SIZE), "muted")
    return canvas.png()


def no_data(
    title: str, detail: str = "", *, lines: Sequence[Line | str] = (), notes: Sequence[str] = ()
) -> bytes:
    """A chart with nothing to show: the title, then 暂无数据 and ``detail`` in a framed plot
    area where the bars would be."""
    canvas = _Canvas()
    _title(canvas, title)
    _lines(canvas, lines)
    canvas.y += GAP
    _empty_box(canvas, detail)
    for note in notes:
        canvas.block(note, font(SMALL_SIZE), "muted")
    return canvas.png()


# Formatting shared by the domain charts ---------------------------------------------------


def percent(numerator: Number | Decimal | str, denominator: Number | Decimal | str) -> str:
    """ "66.67%": rounded half up to two decimals; "—" without a denominator."""
    if not exact(denominator):
        return "—"
    value = exact(numerator) / exact(denominator) * 100
    rounded = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return f"{rounded}%"


def _decimal(value: Number | Decimal | str) -> Decimal:
    if isinstance(value, Fraction):
        quotient = Decimal(value.numerator) / Decimal(value.denominator)
        return quotient.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return Decimal(value)


def area(value: Number | Decimal | str) -> str:
    """An area for a chart: "1,234.50 m²"."""
    return f"{_decimal(value):,.2f} m²"


def money(value: Number | Decimal | str) -> str:
    """An amount for a chart: "800,000.00 元"."""
    return f"{_decimal(value):,.2f} 元"


def when(iso: str) -> str:
    """An ISO 8601 time (results carry Asia/Shanghai) as "2025-03-01 10:30（北京时间）"."""
    moment = datetime.fromisoformat(iso).astimezone(SHANGHAI)
    return f"{moment:%Y-%m-%d %H:%M}（北京时间）"
