"""Places and the roster: district → street → community → compound → building → entrance →
dwelling, owners and their ownership of dwellings."""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.common.types import UTCDateTime, str_enum, utcnow
from participation.extensions import db


class AreaSource(enum.StrEnum):
    REGISTRY = "registry"  # 登记 (不动产登记簿)
    SURVEYED = "surveyed"  # 实测
    CONTRACT = "contract"  # 合同


class DwellingStatus(enum.StrEnum):
    SOLD = "sold"  # 已售
    UNSOLD = "unsold"  # 未售 (developer)
    UNDELIVERED = "undelivered"  # 已售未交付 (developer)

    @property
    def belongs_to_developer(self) -> bool:
        return self is not DwellingStatus.SOLD


class DwellingUse(enum.StrEnum):
    RESIDENTIAL = "residential"  # 住宅
    COMMERCIAL = "commercial"  # 商业
    PARKING = "parking"  # 车位


BUILDING_SUFFIXES = "号楼|栋|幢|号"
ENTRANCE_SUFFIXES = "单元"


def place_key(text: str, suffixes: str) -> str:
    """The key a building or entrance is matched by, whatever its spelling: "1栋", "1号楼",
    "１号楼", "01" → "1" (``suffixes``: ``BUILDING_SUFFIXES`` or ``ENTRANCE_SUFFIXES``); a name
    that is not a number is its text, full-width letters as ASCII and spaces removed."""
    text = unicodedata.normalize("NFKC", text).replace(" ", "")
    match = re.fullmatch(rf"0*([0-9]+)(?:{suffixes})?", text)
    return match[1] if match else text


def building_key(text: str) -> str:
    return place_key(text, BUILDING_SUFFIXES)


def entrance_key(text: str) -> str:
    return place_key(text, ENTRANCE_SUFFIXES)


def building_name(number: str) -> str:
    """The name a bare building number stands for ("5" → "5栋"): what the roster import
    stores when the file gives only the number. Everywhere else shows ``Building.name``."""
    return f"{number}栋" if number.isdigit() else number


def entrance_name(number: str) -> str:
    """The name a bare entrance number stands for ("2" → "2单元"; "" stays "")."""
    if not number:
        return ""
    return f"{number}单元" if number.isdigit() else number


def dwelling_label(building: str, entrance: str, room: str) -> str:
    """A room's label from the stored names: "5号楼" + "2单元" + "501"."""
    return building + entrance + room


class District(db.Model):
    __tablename__ = "districts"
    __table_args__ = (
        CheckConstraint("min_objection_days >= 1", name="min_objection_days_positive"),
    )
    # The server default is read when first used, not returned by every INSERT: the ORM's
    # insert of a district names only what it was given (also under an older schema).
    __mapper_args__ = {"eager_defaults": False}
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # The shortest objection period (公示期, 询异) of a published result in this district.
    min_objection_days: Mapped[int] = mapped_column(server_default=text("3"))


class Street(db.Model):
    __tablename__ = "streets"
    __table_args__ = (UniqueConstraint("district_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    district: Mapped[District] = relationship()


class Community(db.Model):
    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("street_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    street: Mapped[Street] = relationship()


class ProxyRule(enum.StrEnum):
    """Which ballot counts when an owner and their proxy (委托) both cast: the compound's
    rules of procedure (议事规则) say; frozen into each vote at opening."""

    LATEST = "latest"  # the latest ballot made counts, whoever made it
    OWNER_PREVAILS = "owner_prevails"  # the owner's own ballot prevails over a proxy's


class Compound(db.Model):
    __tablename__ = "compounds"
    __table_args__ = (UniqueConstraint("community_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(200), default="")
    proxy_rule: Mapped[ProxyRule] = mapped_column(
        str_enum(ProxyRule, "proxy_rule"), server_default=ProxyRule.LATEST.value
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    community: Mapped[Community] = relationship()


class Building(db.Model):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("compound_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    # Normalised key: "1栋", "1号楼" and "1" are all "1": what matches a row, a claim or a
    # typed building to this building, whatever its spelling.
    number: Mapped[str] = mapped_column(String(32))
    # The name as the roster writes it ("5号楼", "1栋"); a bare number is stored as "5栋".
    name: Mapped[str] = mapped_column(String(32))

    def __init__(self, **kwargs):
        # An object made with its number alone is named as a bare number is ("5" → "5栋").
        kwargs.setdefault("name", building_name(kwargs.get("number", "")))
        super().__init__(**kwargs)


class Entrance(db.Model):
    __tablename__ = "entrances"
    __table_args__ = (UniqueConstraint("building_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    # Normalised key: "1单元" and "1" are "1"; "" for a single-entrance building.
    number: Mapped[str] = mapped_column(String(32))
    # The name as the roster writes it ("2单元", "二单元"); a bare number is "2单元"; "" for
    # a single-entrance building.
    name: Mapped[str] = mapped_column(String(32))
    building: Mapped[Building] = relationship()

    def __init__(self, **kwargs):
        kwargs.setdefault("name", entrance_name(kwargs.get("number", "")))
        super().__init__(**kwargs)


class Dwelling(db.Model):
    """One exclusive part (专有部分)."""

    __tablename__ = "dwellings"
    __table_args__ = (
        UniqueConstraint("entrance_id", "room"),
        CheckConstraint("area > 0", name="area_positive"),
        Index("ix_dwellings_compound_building", "compound_id", "building_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"))
    entrance_id: Mapped[int] = mapped_column(ForeignKey("entrances.id"), index=True)
    floor: Mapped[int]
    room: Mapped[str] = mapped_column(String(32))
    area: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    area_source: Mapped[AreaSource] = mapped_column(
        str_enum(AreaSource, "area_source"), default=AreaSource.REGISTRY
    )
    status: Mapped[DwellingStatus] = mapped_column(
        str_enum(DwellingStatus, "dwelling_status"), default=DwellingStatus.SOLD
    )
    use: Mapped[DwellingUse] = mapped_column(
        str_enum(DwellingUse, "dwelling_use"), default=DwellingUse.RESIDENTIAL
    )
    building: Mapped[Building] = relationship()
    entrance: Mapped[Entrance] = relationship()
    ownerships: Mapped[list[Ownership]] = relationship(
        back_populates="dwelling", cascade="all, delete-orphan"
    )

    @property
    def label(self) -> str:
        """Room label as shown on notices, from the stored names: 5号楼2单元501."""
        return dwelling_label(self.building.name, self.entrance.name, self.room)


class Owner(db.Model):
    """A person or organisation owning dwellings of one compound.

    The same buyer is recognised by the keyed hash of the ID number, never by name; the full
    ID number is never stored.
    """

    __tablename__ = "owners"
    __table_args__ = (UniqueConstraint("compound_id", "id_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(11), index=True)
    id_hash: Mapped[str] = mapped_column(String(64))
    id_last4: Mapped[str] = mapped_column(String(4))
    # The resident account that signed in with this owner's phone or had a claim approved.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    ownerships: Mapped[list[Ownership]] = relationship(back_populates="owner")


class Ownership(db.Model):
    __tablename__ = "ownerships"
    __table_args__ = (UniqueConstraint("owner_id", "dwelling_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    dwelling_id: Mapped[int] = mapped_column(ForeignKey("dwellings.id"), index=True)
    owner: Mapped[Owner] = relationship(back_populates="ownerships")
    dwelling: Mapped[Dwelling] = relationship(back_populates="ownerships")


class ImportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # written (or, for a dry run, checked) without problems
    REJECTED = "rejected"  # invalid rows: nothing written
    FAILED = "failed"  # unexpected error: nothing written


class RosterImport(db.Model):
    """An uploaded roster file and the outcome of importing it."""

    __tablename__ = "roster_imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    dry_run: Mapped[bool] = mapped_column(default=False)
    # Set: the committee confirmed that this import may replace areas by ones of a lower
    # source (登记 > 实测 > 合同), for this reason; None: such rows are refused.
    area_downgrade_reason: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus, "import_status"), default=ImportStatus.QUEUED
    )
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
