"""The shared chart drawing: PNGs of the expected size, bars as long as their values, the
暂无数据 state, text kept inside the canvas, readable colours, the same bytes every time."""

from __future__ import annotations

import io
from fractions import Fraction

import pytest
from PIL import Image, ImageChops, ImageDraw

from participation.common import charts, fonts
from participation.common.charts import Bar, Line, Panel, Reference, Style

BLUE = Style("甲", charts.BLUE)
GREEN = Style("乙", charts.GREEN)
HATCHED = Style("丙", charts.VERMILLION, hatch=True)


def image(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    picture = Image.open(io.BytesIO(png))
    picture.load()
    assert picture.format == "PNG"
    return picture.convert("RGB")


def pixels_of(picture: Image.Image, colour: str) -> int:
    rgb = Image.new("RGB", (1, 1), colour).getpixel((0, 0))
    return sum(count for count, value in picture.getcolors(1 << 20) if value == rgb)


def sample(**panel) -> bytes:
    return charts.chart(
        "测试图表",
        [
            Panel(
                [
                    Bar("一半", [(BLUE, Fraction(1, 2))], text="50.00%"),
                    Bar("四分之一", [(GREEN, Fraction(1, 4))], text="25.00%", caption="说明"),
                ],
                percent=True,
                references=[Reference(Fraction(2, 3), "三分之二")],
                **panel,
            )
        ],
        lines=["第一行说明", Line("结果：通过 ✓", bold=True)],
        legend=[BLUE, GREEN],
        notes=["统计时间：2025-03-01 10:30（北京时间）"],
    )


def test_a_chart_is_a_png_of_the_canvas_width_and_the_same_every_time():
    png = sample()
    picture = image(png)
    assert picture.size[0] == charts.WIDTH and 300 < picture.size[1] < 800
    assert len(png) < 150_000
    assert sample() == png  # deterministic


def test_bar_lengths_follow_the_values():
    picture = image(sample())
    half, quarter = pixels_of(picture, charts.BLUE), pixels_of(picture, charts.GREEN)
    swatch = round(charts.SMALL_SIZE * 1.4) * charts.SMALL_SIZE  # each legend swatch, roughly
    assert quarter > 0
    assert abs((half - swatch) / (quarter - swatch) - 2) < 0.1


def test_stacked_segments_fill_the_bar_in_order_and_hatching_shows():
    png = charts.chart(
        "堆叠",
        [Panel([Bar("全部", [(BLUE, Fraction(1, 3)), (HATCHED, Fraction(2, 3))])], percent=True)],
    )
    picture = image(png)
    assert pixels_of(picture, charts.BLUE) > 0
    assert pixels_of(picture, charts.VERMILLION) > 0
    assert pixels_of(picture, "#ffffff") > 0


def test_counts_run_to_a_round_axis_end():
    png = charts.chart("计数", [Panel([Bar("甲", [(BLUE, 37)], text="37 人")])])
    assert image(png).size[0] == charts.WIDTH


def test_no_data_says_so_in_the_plot_area():
    title, detail = "满意率（分维度）", "尚无居民评价"
    png = charts.no_data(title, detail)
    picture = image(png)
    assert picture.size[0] == charts.WIDTH
    assert png != sample() and pixels_of(picture, charts.BLUE) == 0  # no bars, no axes

    # 暂无数据 is drawn, exactly where the drawing differs from the same chart without it.
    original = charts.NO_DATA
    try:
        charts.NO_DATA = ""
        without = image(charts.no_data(title, detail))
    finally:
        charts.NO_DATA = original
    left, top, right, bottom = ImageChops.difference(picture, without).getbbox()
    big = fonts.font(charts.TITLE_SIZE, bold=True)
    words = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), "暂无数据", font=big)
    assert abs((right - left) - (words[2] - words[0])) <= 2
    assert abs((bottom - top) - (words[3] - words[1])) <= 2
    assert abs((left + right) / 2 - charts.WIDTH / 2) <= 2  # centred in the plot area


def test_a_chart_without_bars_is_the_no_data_chart():
    assert charts.chart("空", [Panel([])], empty="尚无数据来源") == charts.no_data(
        "空", "尚无数据来源"
    )


def test_a_panel_without_bars_says_no_data_in_its_place():
    png = charts.chart("两块", [Panel([Bar("甲", [(BLUE, 1)])]), Panel([], empty="无楼栋")])
    assert image(png).size[0] == charts.WIDTH


def test_long_text_stays_inside_the_canvas():
    long = "老旧小区综合改造加装电梯及配套设施完善提升项目" * 8
    png = charts.chart(
        long,
        [
            Panel(
                [
                    Bar(long, [(BLUE, Fraction(1))], text=long, caption=long),
                    Bar("短", [(GREEN, Fraction(1, 10))], text="WWWWWWWWWW" * 20),
                ],
                heading=long,
                percent=True,
                references=[Reference(Fraction(1), long)],
            )
        ],
        lines=[long],
        legend=[Style(long, charts.BLUE), Style("短", charts.GREEN), Style(long, charts.ORANGE)],
        notes=[long],
    )
    picture = image(png)
    background = Image.new("RGB", picture.size, charts.COLOURS["background"])
    left, top, right, bottom = ImageChops.difference(picture, background).getbbox()
    edge = charts.MARGIN - 4  # text boxes are padded by a few pixels
    assert left >= edge and right <= charts.WIDTH - edge
    assert top >= edge and bottom <= picture.size[1] - edge


def test_wrap_breaks_lines_within_the_width_and_cuts_the_last():
    face = fonts.font(charts.TEXT_SIZE)
    text = "同意改造的业主人数达到全体业主人数的三分之二以上（按人数计），统计到66.67%为止。" * 3
    lines = charts.wrap(text, face, 300, max_lines=2)
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(charts.text_width(line, face) <= 300 for line in lines)
    everything = charts.wrap(text, face, 300, max_lines=20)
    assert "".join(everything) == text  # nothing lost when there is room
    assert not any(line[0] in charts.CLOSING for line in everything)
    assert not any("66.6" in line and "66.67%" not in line for line in everything)  # kept whole


def test_text_colours_have_at_least_4_5_to_1_contrast():
    def luminance(colour: str) -> float:
        channels = []
        for value in Image.new("RGB", (1, 1), colour).getpixel((0, 0)):
            c = value / 255
            channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
        red, green, blue = channels
        return 0.2126 * red + 0.7152 * green + 0.0722 * blue

    background = luminance(charts.COLOURS["background"])
    for name in charts.TEXT_COLOURS:
        text = luminance(charts.COLOURS[name])
        assert (background + 0.05) / (text + 0.05) >= 4.5, name


def test_negative_values_are_refused():
    with pytest.raises(ValueError):
        charts.chart("计数", [Panel([Bar("甲", [(BLUE, -1)])])])


def test_formats():
    assert charts.percent(2, 3) == "66.67%" and charts.percent(1, 0) == "—"
    assert charts.percent("1.005", "100") == "1.01%"  # half up, as the API rounds
    assert charts.area("3622.29") == "3,622.29 m²" and charts.area(Fraction(1, 3)) == "0.33 m²"
    assert charts.money("800000") == "800,000.00 元"
    assert charts.when("2025-03-01T02:30:00+00:00") == "2025-03-01 10:30（北京时间）"
