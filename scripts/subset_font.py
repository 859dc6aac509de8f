"""Make the CJK font the project ships (participation/common/fontdata/) from Noto Sans SC.

Charts, posters and PDFs draw Chinese text; a machine without a CJK system font (no Debian
``fonts-noto-cjk``) uses this font instead. It is Noto Sans SC 2.004 (SIL Open Font License
1.1), Regular and Bold, cut down to the characters the product writes:

- every character of GB 2312 (6,763 hanzi and 682 symbols, enumerated here by decoding each
  two-byte code with Python's ``gb2312`` codec);
- the rest of 《通用规范汉字表》 (the 1,467 characters of its 8,105 that GB 2312 lacks, listed in
  scripts/data/tongyong-guifan-not-in-gb2312.txt): rarer characters of place and person names;
- ASCII, Latin-1 and the symbol blocks in ``BLOCKS`` (punctuation, ², ×, ≥, ≤, —, …, ·, ✓,
  arrows, ①, ㎡, CJK symbols and punctuation, full-width forms), where the font has them.

A character outside these draws the font's missing-glyph box (see participation/common/fonts.py).
Hinting and the default OpenType layout features (kern, liga, locl, vert, …) are kept. The
family is renamed "Participation Sans SC": a modified version keeps the OFL but should not pass
for the original, and must not use the Reserved Font Name ('Source').

The source is the npm package @expo-google-fonts/noto-sans-sc 0.4.3, whose static TrueType
instances (glyf outlines, which PDF libraries embed) are those of Google Fonts::

    cd /tmp && npm pack @expo-google-fonts/noto-sans-sc@0.4.3
    tar xzf expo-google-fonts-noto-sans-sc-0.4.3.tgz          # → /tmp/package
    .venv/bin/pip install fonttools                            # in the dev extra
    .venv/bin/python scripts/subset_font.py /tmp/package

It checks the source files' SHA-256, writes the two fonts and OFL.txt, and prints their sizes
and coverage. Output is deterministic: the same source gives the same bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import shutil
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "participation" / "common" / "fontdata"
EXTRA_HANZI = Path(__file__).resolve().parent / "data" / "tongyong-guifan-not-in-gb2312.txt"

FAMILY = "Participation Sans SC"
POSTSCRIPT = "ParticipationSansSC"
VERSION = "2.004-H2"
# weight name → (file in the npm package, SHA-256 of that file)
SOURCES = {
    "Regular": (
        "400Regular/NotoSansSC_400Regular.ttf",
        "d45f67f0a7c0ca3f256950777ce6a61cc7ce5f9696d02900cbbaac25f8aa7d16",
    ),
    "Bold": (
        "700Bold/NotoSansSC_700Bold.ttf",
        "9a38ae0ab28cd5a256f9ea8e00dedc688aac17f7915fcb000572990afa956b96",
    ),
}
LICENCE = "LICENSE_FONT"

# Unicode blocks kept whole (as far as the font covers them), besides GB 2312 and the table.
BLOCKS = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1: ², ×, ·, ° …
    (0x2000, 0x206F),  # general punctuation: —, …, ‰, ※
    (0x2100, 0x214F),  # letterlike: ℃, №
    (0x2150, 0x218F),  # number forms: Ⅰ Ⅱ Ⅲ
    (0x2190, 0x21FF),  # arrows: → ← ↑ ↓ ⇒
    (0x2200, 0x22FF),  # mathematical operators: ≥ ≤ ≠ ≈ ±
    (0x2460, 0x2473),  # ① … ⑳ (GB 2312 has ⑴ … ⒇ and ⒈ … ⒛)
    (0x25A0, 0x25FF),  # geometric shapes: ■ □ ▲ △ ● ○ ▶
    (0x2605, 0x2606),  # ★ ☆
    (0x260E, 0x260E),  # ☎
    (0x2610, 0x2612),  # ☐ ☑ ☒
    (0x261C, 0x261F),  # ☜ ☝ ☞ ☟
    (0x26A0, 0x26A0),  # ⚠
    (0x2700, 0x27BF),  # dingbats: ✓ ❶ … ➓
    (0x3000, 0x303F),  # CJK symbols and punctuation: 、。「」【】〔〕
    (0x3380, 0x33DF),  # CJK compatibility, units: ㎡ ㎏ ㎞ ㏄
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF01, 0xFF65),  # full-width ASCII and half-width CJK punctuation: （），：？
    (0xFFE0, 0xFFEE),  # full-width ￥ ￡ and half-width forms
    (0xFFFD, 0xFFFD),  # replacement character
)


def gb2312() -> set[str]:
    """Every character of GB 2312: each two-byte code (rows 0xA1–0xF7, cells 0xA1–0xFE)
    that the codec decodes."""
    chars = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                chars.add(bytes((row, cell)).decode("gb2312"))
    return chars


def extra_hanzi() -> set[str]:
    lines = EXTRA_HANZI.read_text(encoding="utf-8").splitlines()
    return {char for line in lines if not line.startswith("#") for char in line.strip()}


def wanted() -> dict[str, set[str]]:
    blocks = {chr(c) for low, high in BLOCKS for c in range(low, high + 1)}
    return {"GB 2312": gb2312(), "通用规范汉字表 beyond GB 2312": extra_hanzi(), "blocks": blocks}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rename(font: TTFont, style: str) -> None:
    """Name the subset as its own family; keep copyright, trademark, designer and licence."""
    table = font["name"]
    names = {
        1: FAMILY,
        2: style,
        3: f"{VERSION};participation-subset;{POSTSCRIPT}-{style}",
        4: f"{FAMILY} {style}",
        5: f"Version {VERSION}; subset of Noto Sans SC by scripts/subset_font.py",
        6: f"{POSTSCRIPT}-{style}",
        10: "A subset of Noto Sans SC 2.004 (GB 2312 and 《通用规范汉字表》 with symbols), "
        "renamed; made for the participation project's charts, posters and PDFs.",
    }
    for record in list(table.names):
        if record.nameID in (16, 17, 18, 21, 22, 25) or record.nameID in names:
            table.removeNames(nameID=record.nameID)
    for name_id, text in names.items():
        table.setName(text, name_id, 3, 1, 0x409)


def make(source: Path, style: str, chars: set[str], out: Path) -> TTFont:
    options = subset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True  # the missing-glyph box is drawn, not a blank
    options.hinting = True
    font = TTFont(source, recalcTimestamp=False)  # keep the source's date: same bytes
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in chars))
    subsetter.subset(font)
    rename(font, style)
    font.save(out)
    return font


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the unpacked npm package (its package/)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    groups = wanted()
    chars = set().union(*groups.values())
    args.out.mkdir(parents=True, exist_ok=True)
    for style, (name, digest) in SOURCES.items():
        source = args.package / name
        if sha256(source) != digest:
            print(f"{source}: not the expected file (SHA-256 differs)", file=sys.stderr)
            return 1
        out = args.out / f"{POSTSCRIPT}-{style}.ttf"
        font = make(source, style, chars, out)
        cmap = font.getBestCmap()
        covered = {name: sum(ord(c) in cmap for c in group) for name, group in groups.items()}
        print(
            f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: "
            f"{out.stat().st_size:,} bytes, {len(cmap):,} characters, "
            f"{font['maxp'].numGlyphs:,} glyphs; "
            + ", ".join(f"{name} {covered[name]:,}/{len(groups[name]):,}" for name in groups)
        )
    shutil.copyfile(args.package / LICENCE, args.out / "OFL.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
