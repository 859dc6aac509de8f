"""Generated rosters for the demo compounds and the benchmark: realistic, invented data in the
import format of ../shared/examples/README.md (valid ID check digits, co-owners, buyers of
several dwellings, developer dwellings)."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Collection
from datetime import date, timedelta
from decimal import Decimal

HEADER = "楼栋,单元,楼层,房号,专有部分面积,面积来源,房屋状态,业主姓名,手机号,业主证件号".split(",")
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋"
    "唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = (
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 "
    "秀英 桂兰 淑珍 海燕 建国 文华 玉兰 春生 德明 国庆 红梅"
).split()
AREAS = ("59.80", "68.45", "72.30", "82.10", "91.36")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def id_check_char(first17: str) -> str:
    """GB 11643 check character of a resident ID number."""
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def _id_number(rng: random.Random, used: set[str]) -> str:
    """A fresh, valid ID number (each invented person has their own)."""
    while True:
        birthday = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 60 * 365))
        first17 = f"510902{birthday:%Y%m%d}{rng.randrange(0, 1000):03d}"
        if first17 not in used:
            used.add(first17)
            return first17 + id_check_char(first17)


def _person(rng: random.Random, used: set[str]) -> tuple[str, str, str]:
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    phone = "1" + rng.choice("3456789") + f"{rng.randrange(0, 10**9):09d}"
    return name, phone, _id_number(rng, used)


def roster_rows(
    buildings: int,
    entrances: int = 2,
    floors: int = 6,
    rooms_per_floor: int = 2,
    seed: int = 1,
    first_phone: str | None = None,
    hao_lou: Collection[int] = (),
) -> list[list[str]]:
    """Rows of a generated roster; ``first_phone`` is given to the owner of the first dwelling
    (the demo resident). Buildings are written "1栋", those numbered in ``hao_lou`` "2号楼"
    (the names the roster writes are the names shown)."""
    rng = random.Random(seed)
    used: set[str] = set()
    rows: list[list[str]] = []
    repeat_buyers: list[tuple[str, str, str]] = []
    for b in range(1, buildings + 1):
        for e in range(1, entrances + 1):
            for floor in range(1, floors + 1):
                for r in range(1, rooms_per_floor + 1):
                    room = f"{floor}{r:02d}"
                    area = str(Decimal(rng.choice(AREAS)) + rng.randrange(0, 3))
                    status, owners = "已售", []
                    roll = rng.random()
                    if roll < 0.01:
                        status = rng.choice(["未售", "已售未交付"])
                    elif roll < 0.03 and repeat_buyers:
                        owners = [rng.choice(repeat_buyers)]
                    elif roll < 0.08:
                        owners = [_person(rng, used), _person(rng, used)]
                    else:
                        owners = [_person(rng, used)]
                        if roll > 0.97:
                            repeat_buyers.append(owners[0])
                    if first_phone and not rows:
                        status = "已售"
                        owners = [(_person(rng, used)[0], first_phone, _id_number(rng, used))]
                    rows.append(
                        [
                            f"{b}号楼" if b in hao_lou else f"{b}栋",
                            f"{e}单元",
                            str(floor),
                            room,
                            area,
                            "登记",
                            status,
                            "、".join(o[0] for o in owners),
                            "、".join(o[1] for o in owners),
                            "、".join(o[2] for o in owners),
                        ]
                    )
    return rows


def roster_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
