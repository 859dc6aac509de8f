"""Request and response schemas for places, roster and electorate."""

from __future__ import annotations

import marshmallow as ma

from participation.common.schemas import Amount, Integer, LocalDateTime, PatchSchema, Schema
from participation.roster.models import ProxyRule


class NameSchema(Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))


class PlaceSchema(Schema):
    id = Integer(dump_only=True)
    name = ma.fields.String()


OBJECTION_MINIMUM = (
    "本区公示结果的最短异议期（天），默认 3；表决和问卷的 objection_days 不得少于此数"
)


class DistrictInSchema(NameSchema):
    min_objection_days = Integer(
        load_default=None,
        validate=ma.validate.Range(min=1, max=90, error="最短异议期应在 1 到 90 天之间"),
        metadata={"description": OBJECTION_MINIMUM},
    )


class DistrictSchema(PlaceSchema):
    min_objection_days = Integer(metadata={"description": OBJECTION_MINIMUM})


class CompoundInSchema(Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    address = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))


PROXY_RULE_DOC = {
    "description": "议事规则：同一业主的多张选票以哪张为准。latest 最后作出的一票（默认）/ "
    "owner_prevails 业主本人的一票优先于受托人的；每次表决开启时确定"
}


class CompoundPatchSchema(PatchSchema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    address = ma.fields.String(validate=ma.validate.Length(max=200))
    proxy_rule = ma.fields.Enum(
        ProxyRule,
        by_value=True,
        error_messages={"unknown": "应为 latest 或 owner_prevails"},
        metadata=PROXY_RULE_DOC,
    )


class CompoundSchema(Schema):
    id = Integer()
    name = ma.fields.String()
    address = ma.fields.String()
    proxy_rule = ma.fields.Enum(ProxyRule, by_value=True, metadata=PROXY_RULE_DOC)
    community = ma.fields.Function(lambda c: c.community.name)
    street = ma.fields.Function(lambda c: c.community.street.name)
    district = ma.fields.Function(lambda c: c.community.street.district.name)
    created_at = LocalDateTime()


class CompoundDetailSchema(CompoundSchema):
    buildings = Integer()
    dwellings = Integer()
    owners = Integer()


class CompoundQuerySchema(Schema):
    community_id = Integer()


class EntranceSchema(Schema):
    id = Integer()
    name = ma.fields.String(
        metadata={
            "description": "单元名称，按名册的写法；只有一个单元的楼栋为空",
            "example": "2单元",
        }
    )
    dwellings = Integer()


class BuildingSchema(Schema):
    id = Integer()
    name = ma.fields.String(
        metadata={
            "description": "楼栋名称，按名册的写法（名册只写数字时为“5栋”）",
            "example": "5号楼",
        }
    )
    dwellings = Integer()
    entrances = ma.fields.List(ma.fields.Nested(EntranceSchema))


class OwnerSchema(Schema):
    """Names and phones are masked (张*, 138****5678) unless the caller is staff of the
    owner's compound."""

    id = Integer()
    name = ma.fields.String()
    phone = ma.fields.String()
    id_last4 = ma.fields.String()
    signed_up = ma.fields.Boolean(metadata={"description": "has a resident account linked"})
    dwellings = ma.fields.List(ma.fields.String(), metadata={"description": "room labels"})


class DwellingSchema(Schema):
    id = Integer()
    label = ma.fields.String(metadata={"description": "1栋2单元501"})
    building_id = Integer()
    entrance_id = Integer()
    floor = Integer()
    room = ma.fields.String()
    area = Amount()
    area_source = ma.fields.String()
    status = ma.fields.String()
    use = ma.fields.String()
    owners = ma.fields.List(ma.fields.String(), metadata={"description": "masked names"})


class DwellingQuerySchema(Schema):
    building_id = Integer()
    entrance_id = Integer()


class ScopeQuerySchema(Schema):
    building_ids = ma.fields.List(Integer(), load_default=list)
    entrance_ids = ma.fields.List(Integer(), load_default=list)


class ElectoratePartSchema(Schema):
    building_id = Integer()
    name = ma.fields.String()
    t_cnt = Integer()
    t_area = Amount()


class ElectorateSchema(Schema):
    t_cnt = Integer(metadata={"description": "persons (headcount)"})
    t_area = Amount(metadata={"description": "sum of their exclusive areas, m²"})
    dwellings = Integer()
    developer_dwellings = Integer()
    persons_without_known_owner = Integer(
        metadata={"description": "sold dwellings whose owner the roster does not know"}
    )
    by_building = ma.fields.List(
        ma.fields.Nested(ElectoratePartSchema),
        metadata={
            "description": "each building counted on its own (a buyer with dwellings "
            "in two buildings is one person in each)"
        },
    )


class PublicCompoundSchema(Schema):
    id = Integer()
    name = ma.fields.String()
    address = ma.fields.String()
    buildings = ma.fields.List(ma.fields.Nested(BuildingSchema))
