"""The notice board (公示栏): what is posted on it and what residents answer to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from participation.common.types import UTCDateTime, utcnow
from participation.extensions import db

# 公示 (publication) ------------------------------------------------------------------------


class Objection(db.Model):
    """询异: an objection to a published result, recorded by staff, and how it was handled.

    One table for every kind of campaign: the objection names its vote or its survey, exactly
    one of them (a database check), so that a foreign key still guards each, and a campaign
    of a new kind adds a column, not a table."""

    __tablename__ = "objections"
    __table_args__ = (
        CheckConstraint("(vote_id IS NULL) <> (survey_id IS NULL)", name="one_campaign"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id"), index=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"), index=True)
    summary: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
