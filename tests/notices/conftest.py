"""The notice board's fixtures: a compound with two buildings and a resident in each, and the
command-line tools that read what the board prints (zbar for QR codes, poppler for PDFs)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from participation.auth.models import Role

IN_CI = os.environ.get("CI", "").lower() == "true"


def need_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.exit(f"CI=true but {name} is missing (apt-get install {package})", returncode=3)
        pytest.skip(f"{name} not installed (apt-get install {package})")
    return path


def _decode_qr(image: Path) -> list[str]:
    """What zbar reads in an image: one entry per QR code found."""
    zbarimg = need_tool("zbarimg", "zbar-tools")
    run = subprocess.run(
        [zbarimg, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return run.stdout.splitlines()


def _pdf_pages(pdf: Path, dpi: int = 150) -> list[Path]:
    """The PDF's pages rendered to PNG by poppler."""
    pdftoppm = need_tool("pdftoppm", "poppler-utils")
    prefix = pdf.with_suffix("")
    subprocess.run(
        [pdftoppm, "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True, timeout=60
    )
    return sorted(pdf.parent.glob(f"{prefix.name}-*.png"))


@pytest.fixture
def decode_qr():
    """``decode_qr(path)`` → what zbar reads in the image, one entry per QR code."""
    need_tool("zbarimg", "zbar-tools")
    return _decode_qr


@pytest.fixture
def pdf_pages():
    """``pdf_pages(path)`` → the PDF's pages as PNG files (poppler's pdftoppm)."""
    need_tool("pdftoppm", "poppler-utils")
    return _pdf_pages


@dataclass
class Board:
    compound: object
    other: object  # a neighbouring compound of the same community
    building_1: int
    building_3: int
    staff: dict
    staff_id: int
    neighbour_staff: dict
    resident_1: dict  # owns 1栋1单元101
    resident_3: dict  # rents 3栋1单元301
    resident_other: dict


@pytest.fixture
def board(db, make_compound, make_dwelling, make_staff, make_account, sign_in):
    from participation.auth.models import Tenancy
    from participation.extensions import db as _db

    compound = make_compound("望江花园")
    other = make_compound("锦江苑", community=compound.community)
    account_1, account_3, account_other = make_account(), make_account(), make_account()
    owner = make_dwelling.owner(compound, "张三")
    owner.account_id = account_1.id
    d1 = make_dwelling(compound, "1", "1", "101", owners=[owner])
    d3 = make_dwelling(compound, "3", "1", "301", owners=[make_dwelling.owner(compound, "李四")])
    _db.session.add(Tenancy(account_id=account_3.id, dwelling_id=d3.id))
    other_owner = make_dwelling.owner(other, "王五")
    other_owner.account_id = account_other.id
    make_dwelling(other, "1", "1", "101", owners=[other_owner])
    _db.session.flush()
    staff = make_staff(Role.COMPOUND, compound.id)
    return Board(
        compound=compound,
        other=other,
        building_1=d1.building_id,
        building_3=d3.building_id,
        staff=sign_in(staff),
        staff_id=staff.id,
        neighbour_staff=sign_in(make_staff(Role.COMPOUND, other.id)),
        resident_1=sign_in(account_1),
        resident_3=sign_in(account_3),
        resident_other=sign_in(account_other),
    )
