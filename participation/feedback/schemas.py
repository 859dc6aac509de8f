"""Shapes of the complaints API: filing (multipart with photos), tickets as the reporter, staff
and contractors see them, their history, moves, assignment, ratings, categories."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_smorest.fields import Upload
from webargs.fields import DelimitedList

from participation.common.schemas import (
    Amount,
    CountRatioSchema,
    Integer,
    LocalDateTime,
    PatchSchema,
    Schema,
)
from participation.feedback import lifecycle
from participation.feedback.models import LinkKind, TicketKind, TicketStatus

KIND_DESCRIPTION = "complaint 投诉 / suggestion 建议 / praise 表扬"
STATUS_DESCRIPTION = (
    "submitted 已提交 / acknowledged 已受理 / in_progress 处理中 / resolved 已办结待确认 / "
    "closed 已关闭 / rejected 不予受理 / duplicate 重复 / not_responsible 已转交"
)


class FilingSchema(Schema):
    """``multipart/form-data``: the ticket's fields and up to 9 ``photos``."""

    compound_id = Integer(required=True)
    kind = ma.fields.Enum(
        TicketKind,
        by_value=True,
        load_default=TicketKind.COMPLAINT,
        metadata={"description": KIND_DESCRIPTION},
    )
    category_id = Integer(required=True, error_messages={"required": "请选择问题类别"})
    description = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=2000, error="问题描述须为 1 至 2000 字"),
        error_messages={"required": "请描述问题"},
    )
    building_id = Integer(allow_none=True, metadata={"description": "楼栋"})
    entrance_id = Integer(allow_none=True, metadata={"description": "单元"})
    location_text = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=200),
        metadata={"description": "位置说明，如“3栋北侧消防通道”"},
    )
    lat = ma.fields.Decimal(
        allow_none=True, places=6, validate=ma.validate.Range(-90, 90), as_string=True
    )
    lng = ma.fields.Decimal(
        allow_none=True, places=6, validate=ma.validate.Range(-180, 180), as_string=True
    )
    link_kind = ma.fields.Enum(
        LinkKind,
        by_value=True,
        allow_none=True,
        metadata={
            "description": "关联：menu_item 改造项目 / vote 表决 / survey 问卷 / notice 公告"
        },
    )
    link_id = Integer(allow_none=True)
    anonymous = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "匿名：不向公众和施工单位显示反映人；社区工作人员可见"},
    )
    photos = ma.fields.List(
        Upload(),
        load_default=list,
        metadata={"description": "照片：JPEG、PNG 或 WebP，每张不超过 10 MB，最多 9 张"},
    )

    @ma.pre_load
    def _with_form_fields(self, data, **kwargs):
        # webargs reads the "files" location from request.files only (as the roster upload).
        form = {key: value for key, value in request.form.items() if value != ""}
        return {**form, "photos": request.files.getlist("photos")}

    @ma.validates_schema
    def _pairs(self, data, **kwargs):
        if (data.get("link_kind") is None) != (data.get("link_id") is None):
            raise ma.ValidationError("关联事项的类型和编号须同时填写", "link_id")
        if (data.get("lat") is None) != (data.get("lng") is None):
            raise ma.ValidationError("经纬度须同时填写", "lng")
        if data.get("entrance_id") is not None and data.get("building_id") is None:
            raise ma.ValidationError("选择单元前请先选择楼栋", "building_id")


class TicketQuerySchema(Schema):
    compound_id = Integer()
    status = DelimitedList(
        ma.fields.Enum(TicketStatus, by_value=True),
        metadata={"description": "逗号分隔，如 submitted,acknowledged"},
    )
    category_id = Integer()
    building_id = Integer()
    handler_id = Integer()
    kind = ma.fields.Enum(TicketKind, by_value=True)
    overdue = ma.fields.Boolean(metadata={"description": "true：此刻已逾期（未按时受理或办结）"})
    sort = ma.fields.String(
        load_default="newest",
        validate=ma.validate.OneOf(["newest", "oldest", "due", "updated"]),
        metadata={"description": "newest 最新 / oldest 最早 / due 办结期限 / updated 最近更新"},
    )


class PhotoSchema(Schema):
    id = Integer()
    url = ma.fields.String(metadata={"description": "照片地址（需登录，公开的照片除外）"})
    thumbnail_url = ma.fields.String()
    width = Integer()
    height = Integer()
    public = ma.fields.Boolean(metadata={"description": "工作人员标记为可公开（照片中无人）"})


class EventSchema(Schema):
    seq = Integer()
    action = ma.fields.String(
        metadata={
            "description": "file / acknowledge / start / resolve / reject / duplicate / refer / "
            "confirm / reopen / expire / assign / overdue / rate"
        }
    )
    label = ma.fields.String(metadata={"example": "已受理"})
    from_status = ma.fields.Enum(TicketStatus, by_value=True, allow_none=True)
    to_status = ma.fields.Enum(TicketStatus, by_value=True, allow_none=True)
    actor = ma.fields.String(metadata={"description": "居民 / 工作人员名称 / 系统 / 城市热线系统"})
    note = ma.fields.String(metadata={"description": "公开说明"})
    at = LocalDateTime()


class ReporterSchema(Schema):
    phone = ma.fields.String(metadata={"description": "本小区业委会可见完整号码，其他工作人员脱敏"})
    anonymous = ma.fields.Boolean()


class TicketSchema(Schema):
    id = Integer()
    compound_id = Integer()
    compound_name = ma.fields.String()
    kind = ma.fields.Enum(TicketKind, by_value=True, metadata={"description": KIND_DESCRIPTION})
    category_id = Integer()
    category = ma.fields.String(metadata={"example": "施工安全"})
    description = ma.fields.String()
    building_id = Integer(allow_none=True)
    entrance_id = Integer(allow_none=True)
    place = ma.fields.String(metadata={"example": "3栋2单元 北侧消防通道"})
    location_text = ma.fields.String(allow_none=True)
    lat = ma.fields.Decimal(allow_none=True, as_string=True)
    lng = ma.fields.Decimal(allow_none=True, as_string=True)
    link_kind = ma.fields.Enum(LinkKind, by_value=True, allow_none=True)
    link_id = Integer(allow_none=True)
    anonymous = ma.fields.Boolean()
    source = ma.fields.String(metadata={"description": "h5 居民 / open311 城市热线系统"})
    status = ma.fields.Enum(
        TicketStatus, by_value=True, metadata={"description": STATUS_DESCRIPTION}
    )
    status_label = ma.fields.String(metadata={"example": "处理中"})
    handler = ma.fields.String(allow_none=True, metadata={"description": "处理人（名称）"})
    handler_id = Integer(allow_none=True)
    duplicate_of_id = Integer(allow_none=True)
    referred_to = ma.fields.String(allow_none=True)
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    ack_due_at = LocalDateTime(metadata={"description": "受理期限（1 个工作日内）"})
    resolve_due_at = LocalDateTime(metadata={"description": "办结期限"})
    acknowledged_at = LocalDateTime(allow_none=True)
    resolved_at = LocalDateTime(allow_none=True)
    confirm_due_at = LocalDateTime(
        allow_none=True, metadata={"description": "已办结时：居民确认或重新提出的期限"}
    )
    closed_at = LocalDateTime(allow_none=True)
    overdue = ma.fields.Boolean(metadata={"description": "此刻已逾期"})
    rating = Integer(allow_none=True)
    rating_comment = ma.fields.String(allow_none=True)
    reopen_count = Integer()
    actions = ma.fields.List(
        ma.fields.String(), metadata={"description": "调用者此刻可以进行的操作"}
    )
    photos = ma.fields.List(ma.fields.Nested(PhotoSchema))
    reporter = ma.fields.Nested(
        ReporterSchema,
        allow_none=True,
        metadata={"description": "工作人员可见；匿名时施工单位不可见"},
    )
    history = ma.fields.List(ma.fields.Nested(EventSchema), metadata={"description": "详情中"})


class ActionSchema(Schema):
    action = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(sorted(lifecycle.MOVES.keys() - {"expire"})),
        metadata={
            "description": "处理人员：acknowledge 受理 / start 开始处理 / resolve 办结 / "
            "reject 不予受理 / duplicate 重复 / refer 转交；反映人：confirm 确认解决 / "
            "reopen 重新提出"
        },
    )
    note = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=2000),
        metadata={"description": "公开说明（办结、不予受理、转交、重新提出时必填）"},
    )
    duplicate_of_id = Integer(allow_none=True, metadata={"description": "duplicate：原问题编号"})
    referred_to = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=120),
        metadata={"description": "refer：转交的单位"},
    )


class AssignmentSchema(Schema):
    handler_id = Integer(required=True, metadata={"description": "处理人的工作人员账号"})
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class RatingSchema(Schema):
    rating = Integer(
        required=True,
        validate=ma.validate.Range(1, 5, error="评分须为 1 至 5"),
        metadata={"description": "1 至 5 星"},
    )
    comment = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=500))


class PhotoPatchSchema(Schema):
    public = ma.fields.Boolean(required=True)


class CategorySchema(Schema):
    id = Integer()
    district_id = Integer()
    code = ma.fields.String(metadata={"description": "Open311 service_code"})
    name = ma.fields.String(metadata={"example": "施工安全"})
    description = ma.fields.String()
    position = Integer()
    ack_working_days = Integer(metadata={"description": "受理时限（工作日）"})
    resolve_days = Integer(metadata={"description": "办结时限（天）"})
    active = ma.fields.Boolean()


class CategoryInSchema(Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=32))
    description = ma.fields.String(validate=ma.validate.Length(max=500))
    position = Integer()
    ack_working_days = Integer(validate=ma.validate.Range(1, 30))
    resolve_days = Integer(validate=ma.validate.Range(1, 365))
    active = ma.fields.Boolean()


class CategoryCreateSchema(CategoryInSchema):
    name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=32),
        error_messages={"required": "请填写类别名称"},
    )


class CategoryPatchSchema(CategoryInSchema, PatchSchema):
    pass


# Public supervision -------------------------------------------------------------------------


class CountSchema(Schema):
    kind = ma.fields.String()
    category = ma.fields.String()
    status = ma.fields.String()
    label = ma.fields.String()
    count = Integer()


class StarsSchema(Schema):
    stars = Integer()
    count = Integer()


class RatingsSchema(Schema):
    count = Integer()
    average = Amount(allow_none=True, metadata={"description": "平均星级，两位小数"})
    distribution = ma.fields.List(ma.fields.Nested(StarsSchema))


class FiguresSchema(Schema):
    place = ma.fields.String(metadata={"example": "望江花园"})
    tickets = Integer(metadata={"description": "问题总数"})
    by_kind = ma.fields.List(ma.fields.Nested(CountSchema))
    by_category = ma.fields.List(ma.fields.Nested(CountSchema))
    by_status = ma.fields.List(ma.fields.Nested(CountSchema))
    median_hours_to_acknowledge = ma.fields.String(
        allow_none=True,
        metadata={"description": "受理用时中位数（小时，一位小数）", "example": "4.0"},
    )
    median_hours_to_resolve = ma.fields.String(
        allow_none=True,
        metadata={"description": "办结用时中位数（小时，一位小数）", "example": "63.0"},
    )
    resolved_within_service_level = ma.fields.Nested(
        CountRatioSchema,
        metadata={
            "description": "按时办结率：已办结或已到办结期限的问题中，按时办结的比例"
            "（逾期未办结的计入分母）"
        },
    )
    ratings = ma.fields.Nested(RatingsSchema)


class CompoundFiguresSchema(FiguresSchema):
    compound_id = Integer()


class StreetFiguresSchema(FiguresSchema):
    compounds = ma.fields.List(ma.fields.Nested(CompoundFiguresSchema))


class PublicEventSchema(Schema):
    label = ma.fields.String()
    note = ma.fields.String()
    at = LocalDateTime()


class PublicTicketSchema(Schema):
    id = Integer()
    kind = ma.fields.Enum(TicketKind, by_value=True)
    category = ma.fields.String()
    description = ma.fields.String(metadata={"description": "业主姓名和长数字已脱敏"})
    place = ma.fields.String()
    status = ma.fields.Enum(TicketStatus, by_value=True)
    status_label = ma.fields.String()
    created_at = LocalDateTime()
    acknowledged_at = LocalDateTime(allow_none=True)
    resolved_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    rating = Integer(allow_none=True)
    photos = ma.fields.List(
        ma.fields.String(), metadata={"description": "工作人员标记为可公开的照片"}
    )
    history = ma.fields.List(ma.fields.Nested(PublicEventSchema))
