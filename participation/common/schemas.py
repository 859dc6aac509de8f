"""Base schemas and field types shared by every package."""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import marshmallow as ma

SHANGHAI = ZoneInfo("Asia/Shanghai")
TWO_PLACES = Decimal("0.01")
# PostgreSQL's ``integer``: every id and count of this API fits, and nothing larger reaches
# a query (where it would overflow the driver or the column).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# The instants the API takes: a campaign that opens before 2000 or closes after 2100 is a typo.
EARLIEST = datetime(2000, 1, 1, tzinfo=SHANGHAI)
LATEST = datetime(2100, 12, 31, 23, 59, 59, tzinfo=SHANGHAI)


def local_time(moment: datetime) -> str:
    """A moment in words for residents, Beijing time: ``2026年12月05日 18:00``."""
    return moment.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")


# A decimal written plainly: no exponent, no sign other than a leading minus.
DECIMAL_PATTERN = r"^-?[0-9]{1,15}(\.[0-9]{1,2})?$"


class Integer(ma.fields.Integer):
    """A whole number within PostgreSQL's integer (documented as such): ``1.5`` is refused,
    not cut to 1, and ``2**63`` is a 422, not an overflow. Narrow it with ``validate=``."""

    default_error_messages = {
        "invalid": "须为整数",
        "range": f"须为 {INT_MIN} 到 {INT_MAX} 之间的整数",
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(
            ma.validate.Range(min=INT_MIN, max=INT_MAX, error=self.error_messages["range"])
        )

    def _validated(self, value):
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class LocalDateTime(ma.fields.AwareDateTime):
    """ISO 8601 with offset, shown in Asia/Shanghai; naive input is read as Shanghai time.
    Input must lie between ``EARLIEST`` and ``LATEST``."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", default_timezone=SHANGHAI, **kwargs)
        description = self.metadata.get("description")
        bounds = "2000-01-01 至 2100-12-31（北京时间）"
        self.metadata = {
            **self.metadata,
            "description": f"{description}；{bounds}" if description else bounds,
        }

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            instant = super()._deserialize(value, attr, data, **kwargs)
        except OverflowError as error:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from error
        if not EARLIEST <= instant <= LATEST:
            raise ma.ValidationError("时间须在 2000-01-01 与 2100-12-31 之间")
        return instant

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return super()._serialize(value.astimezone(SHANGHAI), attr, obj, **kwargs)


class PlainDecimal(ma.fields.Decimal):
    """A decimal sent as a string and written plainly (``DECIMAL_PATTERN``: "1e5" and 3.5
    are refused), as the OpenAPI document says (see ``decimal_as_string``)."""

    default_error_messages = {"invalid": '须为最多两位小数的数字字符串，如 "1234.50"'}

    def __init__(self, **kwargs):
        super().__init__(as_string=True, allow_nan=False, **kwargs)

    def _validated(self, value):
        if not isinstance(value, str) or not re.fullmatch(DECIMAL_PATTERN, value):
            raise self.make_error("invalid")
        return super()._validated(value)


class Amount(PlainDecimal):
    """Money in yuan or area in m²: a string with two decimals ("1234.50")."""

    def __init__(self, **kwargs):
        super().__init__(places=2, rounding=ROUND_HALF_UP, **kwargs)


def decimal_as_string(converter, field, ret: dict, **kwargs) -> dict:
    """apispec attribute function: a Decimal field is a string with a pattern in the OpenAPI
    document (that is what it sends and takes), its bounds said in words."""
    if not isinstance(field, ma.fields.Decimal):
        return {}
    bounds = [
        f"{label} {ret.pop(key)}"
        for key, label in (("minimum", "最小"), ("maximum", "最大"))
        if key in ret
    ]
    for key in ("minLength", "maxLength", "exclusiveMinimum", "exclusiveMaximum", "format"):
        ret.pop(key, None)
    update = {"type": "string", "pattern": DECIMAL_PATTERN}
    if bounds:
        description = field.metadata.get("description")
        update["description"] = "；".join(filter(None, [description, "，".join(bounds)]))
    if field.allow_none:
        update["nullable"] = True
    return update


def not_blank(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError("不能为空白")


class Schema(ma.Schema):
    """Base schema: unknown fields in input are an error, not silently dropped; text that
    must not be empty (a ``Length`` with a minimum) must not be blank either."""

    class Meta:
        unknown = ma.RAISE
        ordered = True

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        # Bound fields are shallow copies that share their validators list: build a new one.
        if (
            isinstance(field_obj, ma.fields.String)
            and not_blank not in field_obj.validators
            and any(
                isinstance(v, ma.validate.Length) and (v.min or v.equal)
                for v in field_obj.validators
            )
        ):
            field_obj.validators = [*field_obj.validators, not_blank]


class PatchSchema(Schema):
    """A PATCH body: any of the fields, but at least one (an empty or missing body changes
    nothing and is a mistake, not a success)."""

    @ma.validates_schema
    def _changes_something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("请至少填写一项要修改的内容")


class IdempotencyHeaderSchema(ma.Schema):
    """``Idempotency-Key``: a retried request with the same key is not applied twice (a cast,
    an answer)."""

    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key",
        load_default=None,
        validate=ma.validate.Length(min=1, max=64, error="Idempotency-Key 长度应为 1–64 个字符"),
    )


# Shapes of counting's figures (``counting.ratio``), shared by votes and surveys ------------

PERCENT_DESCRIPTION = "百分比，四舍五入到 0.01；分母为 0 时 null"


class CountRatioSchema(Schema):
    numerator = Integer()
    denominator = Integer()
    percent = Amount(allow_none=True, metadata={"description": PERCENT_DESCRIPTION})


class AreaRatioSchema(Schema):
    numerator = Amount()
    denominator = Amount()
    percent = Amount(allow_none=True, metadata={"description": PERCENT_DESCRIPTION})


class RatiosSchema(Schema):
    count = ma.fields.Nested(CountRatioSchema, metadata={"description": "按人数"})
    area = ma.fields.Nested(AreaRatioSchema, metadata={"description": "按专有部分面积"})


class ContactSchema(Schema):
    name = ma.fields.String()
    phone = ma.fields.String()


class Prepared(ma.fields.Nested):
    """A nested object (or, with ``many=True``, a list of them) that the service has already
    put in its dumped form — amounts as strings, ratios with their percentage — sent as it
    is and documented as its schema. For large breakdowns, where dumping them again costs
    more than computing them (a 10,000-person tally: 6,000 nested objects, 2/3 of the
    request); a test dumps such a value through its schema and compares."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class OneOfNested(ma.fields.Field):
    """A nested object whose shape depends on a sibling value: ``OneOfNested({"vote":
    ResultSchema, "survey": ConsentGateSchema}, by="kind")`` dumps the value with the schema
    named by the dumped object's ``kind``. Documented as ``oneOf`` (``one_of_nested``); each
    schema must refuse unknown fields (the base ``Schema`` does), so that exactly one fits."""

    def __init__(self, schemas: dict[str, type[ma.Schema]], by: str, **kwargs):
        super().__init__(**kwargs)
        self.schemas = schemas
        self.by = by

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return self.schemas[obj[self.by]]().dump(value)


def one_of_nested(converter, field, ret: dict, **kwargs) -> dict:
    """apispec attribute function: a :class:`OneOfNested` is ``oneOf`` its schemas."""
    if not isinstance(field, OneOfNested):
        return {}
    return {"oneOf": [converter.resolve_nested_schema(s) for s in field.schemas.values()]}
