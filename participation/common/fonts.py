"""The CJK font that charts, posters and PDFs draw Chinese with.

``font(size, bold=False)`` gives a Pillow font; ``font_path(bold=False)`` a TrueType file to
embed in a PDF. The font is chosen once per weight and cached, from these candidates in turn:

1. a system font: Noto Sans CJK from Debian's ``fonts-noto-cjk`` at its known paths, then the
   faces ``fc-list :lang=zh-cn`` lists (Noto Sans CJK SC first, sans before serif, no mono),
   of the wanted weight;
2. the font shipped in ``fontdata/``: "Participation Sans SC", a subset of Noto Sans SC (SIL
   OFL 1.1) holding GB 2312, the rest of 《通用规范汉字表》 and the symbols the product writes
   (see fontdata/README.md).

Every candidate must draw real, distinct glyphs for Chinese (:func:`draws_chinese`), so a font
that would draw boxes is never chosen. Only when no candidate does — the shipped files missing
or damaged and no system font: a broken installation — is :class:`NoCJKFont` raised, an HTTP
503 ``chart_font_missing``. A failure is not cached: repairing the installation is enough.

A character the chosen font lacks is drawn as the font's missing-glyph box, never an error.
A system Noto Sans CJK has nearly every character (about 44,000); the shipped subset lacks
those beyond GB 2312 and 《通用规范汉字表》 (e.g. 㐀): a server whose data holds such characters
should install ``fonts-noto-cjk``.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

from participation.common.errors import ApiError

log = logging.getLogger(__name__)

SYSTEM_PACKAGE = "fonts-noto-cjk"
FONTDATA = Path(__file__).resolve().parent / "fontdata"
SHIPPED = {
    False: FONTDATA / "ParticipationSansSC-Regular.ttf",
    True: FONTDATA / "ParticipationSansSC-Bold.ttf",
}
# Debian's fonts-noto-cjk (and the layout some other distributions use), per weight (bold?).
SYSTEM_FONTS = {
    False: (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    ),
    True: (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    ),
}
PREFERRED_FAMILY = "Noto Sans CJK SC"
# fontconfig weights: regular 80, medium 100, semibold 180, bold 200.
REGULAR_WEIGHTS = range(50, 111)
BOLD_WEIGHTS = range(180, 211)
PROBE = "满意度"  # characters every candidate must draw as distinct real glyphs
PROBE_SIZE = 24
MISSING = "\U000ffffd"  # a private-use code point no font maps: draws the missing-glyph box
TRUETYPE = (b"\x00\x01\x00\x00", b"true")  # sfnt versions of single-face glyf-outline fonts


@dataclass(frozen=True)
class Face:
    """One face of a font file (a .ttc collection holds several)."""

    path: str
    index: int
    family: str
    shipped: bool = False


class NoCJKFont(ApiError):
    """No candidate font draws Chinese: a broken installation."""

    def __init__(self):
        super().__init__(
            503,
            "chart_font_missing",
            "服务器缺少可用的中文字体，暂时无法生成图表：程序自带的字体文件缺失或损坏，"
            f"请重新安装程序，或安装 {SYSTEM_PACKAGE} 软件包",
        )


def glyph(face: ImageFont.FreeTypeFont, char: str) -> bytes:
    """The bitmap ``face`` draws for ``char`` (its size and pixels)."""
    mask = face.getmask(char)
    return repr(mask.size).encode() + bytes(mask)


def draws_chinese(face: ImageFont.FreeTypeFont) -> bool:
    """Whether the font draws the probe characters as real glyphs: all different from each
    other and from the missing-glyph box (a font without them draws one box for all)."""
    glyphs = {glyph(face, char) for char in PROBE + MISSING}
    return len(glyphs) == len(PROBE) + 1


def _faces(path: str) -> list[Face]:
    faces = []
    for index in range(32):
        try:
            family = ImageFont.truetype(path, 10, index=index).getname()[0] or ""
        except OSError:
            break
        faces.append(Face(path, index, family))
    return faces


def _fc_list() -> list[tuple[Face, int | None]]:
    """(face, fontconfig weight or None) of every face fontconfig says covers zh-cn."""
    if shutil.which("fc-list") is None:
        return []
    try:
        listing = subprocess.run(
            ["fc-list", ":lang=zh-cn", "--format", "%{file}|%{index}|%{family[0]}|%{weight}\n"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    faces = []
    for line in listing.splitlines():
        path, index, family, weight = ([*line.split("|", 3), "", "", ""])[:4]
        if path and index.isdigit():
            faces.append(
                (Face(path, int(index), family), int(weight) if weight.isdigit() else None)
            )
    return faces


def _rank(face: Face) -> tuple:
    family = face.family
    return (family != PREFERRED_FAMILY, "Sans" not in family, "Mono" in family, "SC" not in family)


def system_faces(bold: bool = False) -> list[Face]:
    """The system's CJK faces of the weight, best first."""
    known = [face for path in SYSTEM_FONTS[bold] for face in _faces(path)]
    listed = [face for face, weight in _fc_list() if _weight_fits(weight, bold)]
    return sorted(known, key=_rank) + sorted(listed, key=_rank)


def _weight_fits(weight: int | None, bold: bool) -> bool:
    if weight is None:  # a variable font, or fontconfig did not say: taken as regular
        return not bold
    return weight in (BOLD_WEIGHTS if bold else REGULAR_WEIGHTS)


def candidates(bold: bool = False) -> list[Face]:
    shipped = SHIPPED[bold]
    return [*system_faces(bold), Face(str(shipped), 0, shipped.stem, shipped=True)]


def _usable(face: Face) -> bool:
    try:
        loaded = ImageFont.truetype(face.path, PROBE_SIZE, index=face.index)
    except OSError:
        return False
    return draws_chinese(loaded)


@functools.cache
def font_face(bold: bool = False) -> Face:
    """The face Chinese is drawn with: the first candidate that draws it; found once."""
    for face in candidates(bold):
        if _usable(face):
            weight = "bold" if bold else "regular"
            log.info("CJK font, %s: %s (%s, face %d)", weight, face.family, face.path, face.index)
            return face
    log.error("no font draws Chinese: the shipped %s is missing or damaged", SHIPPED[bold])
    raise NoCJKFont()


@functools.cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The CJK font at ``size`` px (:class:`NoCJKFont` when there is none)."""
    face = font_face(bold)
    return ImageFont.truetype(face.path, size, index=face.index)


@functools.cache
def font_path(bold: bool = False) -> str:
    """A font file to embed in a PDF: a single-face TrueType (glyf outlines) file, which PDF
    libraries embed. The chosen face when it is one; else (Debian's Noto Sans CJK is a .ttc
    collection of CFF outlines) the shipped font, if it draws Chinese (else :class:`NoCJKFont`)."""
    face = font_face(bold)
    if face.index == 0 and _sfnt_version(face.path) in TRUETYPE:
        return face.path
    shipped = SHIPPED[bold]
    if _usable(Face(str(shipped), 0, shipped.stem, shipped=True)):
        return str(shipped)
    raise NoCJKFont()


def _sfnt_version(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read(4)
    except OSError:
        return b""


def clear_cache() -> None:
    """Forget the chosen fonts (tests; after installing a font)."""
    for cached in (font_face, font, font_path):
        cached.cache_clear()
