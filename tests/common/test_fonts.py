"""The CJK font: the shipped subset covers what the product writes; a system font is preferred
when one draws Chinese; the shipped one is used otherwise; only a broken installation (no
candidate draws Chinese) is 503 chart_font_missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.ttLib.ttCollection import TTCollection
from PIL import ImageFont

from participation.common import fonts

ROOT = Path(__file__).resolve().parents[2]
EXTRA_HANZI = ROOT / "scripts" / "data" / "tongyong-guifan-not-in-gb2312.txt"
# What the product writes on charts, posters and notices, symbols included.
PRODUCT_TEXT = (
    "意愿征集结果同意不同意未表态弃权未投票三分之二四分之三过半数纳入超出预算未采纳应改尽改"
    "基础类完善类提升类满意率达标线暂无数据表决通过还需参与统计时间北京时间扫码手机验证码登录"
    "投票填写公示异议期加装电梯栋单元专有部分面积业主委员会居委会街道社区小区"
    "m² ² × ≥ ≤ — … · ✓ △ → ① ㎡ （），：；。、「」【】％ 0123456789 ABCxyz"
)


def gb2312() -> set[str]:
    chars = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.add(bytes((row, cell)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


@pytest.fixture(autouse=True)
def fresh_cache():
    fonts.clear_cache()
    yield
    fonts.clear_cache()


@pytest.fixture
def no_system_fonts(monkeypatch):
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", {False: (), True: ()})
    monkeypatch.setattr(fonts, "_fc_list", lambda: [])


@pytest.fixture(scope="module")
def latin_only(tmp_path_factory) -> Path:
    """A font that cannot draw Chinese: the shipped font cut down to ASCII."""
    path = tmp_path_factory.mktemp("fonts") / "LatinOnly.ttf"
    font = TTFont(fonts.SHIPPED[False])
    subsetter = subset.Subsetter(subset.Options())
    subsetter.populate(unicodes=range(0x20, 0x7F))
    subsetter.subset(font)
    font.save(path)
    return path


@pytest.mark.parametrize("bold", [False, True])
def test_the_shipped_font_covers_gb2312_the_table_and_the_products_text(bold):
    path = fonts.SHIPPED[bold]
    assert path.is_file() and path.stat().st_size < 3_200_000
    cmap = TTFont(path).getBestCmap()
    lines = EXTRA_HANZI.read_text("utf-8").splitlines()
    extra = {char for line in lines if not line.startswith("#") for char in line}
    assert len(extra) == 1467
    assert all(ord(c) in cmap for c in gb2312() | extra | set(PRODUCT_TEXT) - {" "})
    face = ImageFont.truetype(path, 24)
    assert fonts.draws_chinese(face)
    assert face.getname() == ("Participation Sans SC", "Bold" if bold else "Regular")
    # The licence travels with it.
    assert "SIL OPEN FONT LICENSE Version 1.1" in (path.parent / "OFL.txt").read_text()


def test_a_font_without_chinese_is_refused(latin_only):
    assert fonts.draws_chinese(ImageFont.truetype(latin_only, 24)) is False
    assert fonts.draws_chinese(ImageFont.load_default(size=24)) is False


def test_a_system_font_is_preferred(monkeypatch, tmp_path):
    system = tmp_path / "SystemCJK.ttf"
    shutil.copyfile(fonts.SHIPPED[False], system)
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", {False: (str(system),), True: ()})
    monkeypatch.setattr(fonts, "_fc_list", lambda: [])
    assert fonts.font_face().path == str(system) and not fonts.font_face().shipped
    assert fonts.font(24).path == str(system)
    assert fonts.font_path() == str(system)  # a single TrueType face: embeddable as it is
    # No system bold face: the shipped bold.
    assert fonts.font_face(bold=True).shipped


def test_fontconfig_faces_of_the_weight_are_used(monkeypatch, tmp_path):
    system = tmp_path / "Listed.ttf"
    shutil.copyfile(fonts.SHIPPED[True], system)
    listed = [(fonts.Face(str(system), 0, "Noto Sans CJK SC"), 200)]  # bold only
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", {False: (), True: ()})
    monkeypatch.setattr(fonts, "_fc_list", lambda: listed)
    assert fonts.font_face(bold=True).path == str(system)
    assert fonts.font_face(bold=False).shipped  # a bold face does not stand in for regular


def test_without_a_system_font_the_shipped_one_is_used(no_system_fonts):
    for bold in (False, True):
        face = fonts.font_face(bold)
        assert face.shipped and face.path == str(fonts.SHIPPED[bold])
        assert fonts.font_path(bold) == str(fonts.SHIPPED[bold])
        assert fonts.draws_chinese(fonts.font(30, bold))


def test_a_system_font_that_cannot_draw_chinese_is_skipped(monkeypatch, latin_only):
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", {False: (str(latin_only),), True: ()})
    monkeypatch.setattr(fonts, "_fc_list", lambda: [(fonts.Face(str(latin_only), 0, "X"), 80)])
    assert fonts.font_face().shipped


def test_a_collection_is_drawn_from_but_pdfs_embed_the_shipped_truetype(monkeypatch, tmp_path):
    """Debian's Noto Sans CJK is a .ttc collection: Pillow draws with its face, a PDF embeds
    the shipped single-face TrueType file."""
    collection = TTCollection()
    collection.fonts = [TTFont(fonts.SHIPPED[False]), TTFont(fonts.SHIPPED[True])]
    path = tmp_path / "System.ttc"
    collection.save(path)
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", {False: (str(path),), True: (str(path),)})
    monkeypatch.setattr(fonts, "_fc_list", lambda: [])
    assert fonts.font_face().path == str(path)
    assert fonts.font_path() == str(fonts.SHIPPED[False])


def test_a_character_outside_the_subset_draws_the_box_not_an_error(no_system_fonts):
    face = fonts.font(24)
    assert fonts.glyph(face, "㐀") == fonts.glyph(face, fonts.MISSING)  # the missing-glyph box
    assert fonts.glyph(face, "堃") != fonts.glyph(face, fonts.MISSING)  # 通用规范汉字表
    face.getbbox("小区名㐀字")  # measuring and drawing do not raise


def test_a_broken_installation_is_503_and_not_cached(monkeypatch, no_system_fonts, latin_only):
    shipped = dict(fonts.SHIPPED)
    monkeypatch.setattr(fonts, "SHIPPED", {False: Path("/nonexistent/font.ttf"), True: latin_only})
    for bold in (False, True):
        with pytest.raises(fonts.NoCJKFont) as raised:
            fonts.font(24, bold)
        assert raised.value.code == 503 and raised.value.error_code == "chart_font_missing"
        assert "中文字体" in raised.value.message and "重新安装" in raised.value.message
        with pytest.raises(fonts.NoCJKFont):
            fonts.font_path(bold)
    monkeypatch.setattr(fonts, "SHIPPED", shipped)  # repaired: found without clearing a cache
    assert fonts.font_face().shipped
