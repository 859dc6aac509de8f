"""Base schemas and field types shared by every package."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import marshmallow as ma

SHANGHAI = ZoneInfo("Asia/Shanghai")
TWO_PLACES = Decimal("0.01")


class LocalDateTime(ma.fields.AwareDateTime):
    """ISO 8601 with offset, shown in Asia/Shanghai; naive input is read as Shanghai time."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", default_timezone=SHANGHAI, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return super()._serialize(value.astimezone(SHANGHAI), attr, obj, **kwargs)


class Amount(ma.fields.Decimal):
    """Money in yuan or area in m²: a string with two decimals ("1234.50")."""

    def __init__(self, **kwargs):
        super().__init__(places=2, as_string=True, rounding=ROUND_HALF_UP, **kwargs)


class Schema(ma.Schema):
    """Base schema: unknown fields in input are an error, not silently dropped."""

    class Meta:
        unknown = ma.RAISE
        ordered = True
