"""Schemas of the roster import endpoints (see ``importer.py`` for the report's contents)."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_smorest.fields import Upload

from participation.common.errors import ErrorSchema
from participation.common.schemas import Integer, LocalDateTime, Schema
from participation.roster.models import ImportStatus


class RosterUploadSchema(Schema):
    """``multipart/form-data``: the file and the optional fields ``dry_run``,
    ``confirm_area_downgrade`` and ``area_downgrade_reason``."""

    file = Upload(
        required=True,
        metadata={"description": "房产名册：.csv（UTF-8 或 GB18030）或 .xlsx（第一个工作表）"},
    )
    dry_run = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "true：只检查并给出将要发生的变化，不写入名册"},
    )
    confirm_area_downgrade = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "true：确认以较低优先的面积来源替换系统中的面积（登记 > 实测 > 合同）；"
            "不确认时这些行被拒绝。须同时填写 area_downgrade_reason"
        },
    )
    area_downgrade_reason = ma.fields.String(
        validate=ma.validate.Length(max=500),
        metadata={"description": "确认降级的理由，保存在导入报告中"},
    )

    @ma.validates_schema
    def _reason_with_confirmation(self, data, **kwargs):
        if data["confirm_area_downgrade"] and not data.get("area_downgrade_reason", "").strip():
            raise ma.ValidationError(
                "确认以较低优先的面积来源替换时，须填写理由", "area_downgrade_reason"
            )

    @ma.post_load
    def _downgrade_reason(self, data, **kwargs):
        """The reason when confirmed, else None (a reason alone confirms nothing)."""
        reason = data.pop("area_downgrade_reason", "").strip()
        confirmed = data.pop("confirm_area_downgrade")
        return {**data, "area_downgrade_reason": reason if confirmed else None}

    @ma.pre_load
    def _with_form_fields(self, data, **kwargs):
        # webargs reads the "files" location from request.files only; the other parts of a
        # multipart body are in request.form (flask-smorest #46: one schema keeps the
        # OpenAPI request body complete).
        return {**request.form.to_dict(), **data}


class RowProblemSchema(Schema):
    line = Integer(metadata={"description": "行号，与文件中一致：表头为第1行"})
    column = ma.fields.String(metadata={"example": "手机号"})
    problem = ma.fields.String(metadata={"example": "手机号应为11位大陆手机号码"})


class DwellingChangeSchema(Schema):
    dwelling = ma.fields.String(metadata={"example": "1栋1单元101", "description": "导入后的房号"})
    changes = ma.fields.List(ma.fields.String(), metadata={"example": ["面积 68.45 → 70.00"]})


class OwnerChangeSchema(Schema):
    owner = ma.fields.String(metadata={"description": "姓名（已脱敏）", "example": "张*"})
    dwellings = ma.fields.List(ma.fields.String())
    changes = ma.fields.List(
        ma.fields.String(), metadata={"example": ["手机号 138****5678 → 139****1234"]}
    )


class ImportSummarySchema(Schema):
    rows = Integer()
    dwellings_created = Integer()
    dwellings_updated = Integer()
    dwellings_unchanged = Integer()
    dwellings_not_in_file = Integer()
    owners_created = Integer()
    owners_updated = Integer()
    areas_downgraded = Integer(metadata={"description": "经确认以较低优先来源替换面积的户数"})
    accounts_linked = Integer(metadata={"description": "导入后关联到业主的居民账号数"})
    accounts_unlinked = Integer(metadata={"description": "导入后解除关联的居民账号数"})


class AreaDowngradeSchema(Schema):
    dwelling = ma.fields.String(metadata={"example": "1栋1单元101"})
    before = ma.fields.String(metadata={"example": "登记 89.50 ㎡"})
    after = ma.fields.String(metadata={"example": "合同 92.00 ㎡"})


class AccountLinkSchema(Schema):
    action = ma.fields.String(
        metadata={
            "description": "linked：已关联；unlinked：已解除关联；kept：保留（经认领审核的关联）",
            "enum": ["linked", "unlinked", "kept"],
        }
    )
    owner = ma.fields.String(metadata={"description": "姓名（已脱敏）", "example": "张*"})
    phone = ma.fields.String(metadata={"description": "手机号（已脱敏）", "example": "138****0001"})
    reason = ma.fields.String()


class ImportReportSchema(Schema):
    dry_run = ma.fields.Boolean()
    message = ma.fields.String()
    problems = ma.fields.List(
        ma.fields.Nested(RowProblemSchema),
        metadata={"description": "rejected：文件中的全部问题；此时名册未作任何改动"},
    )
    summary = ma.fields.Nested(ImportSummarySchema, allow_none=True)
    renamed = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "文件中写法与系统不同的楼栋、单元：按文件改名（楼栋、单元仍按编号对应，"
            "“5栋”“5号楼”“5”是同一楼栋；只写数字的不改名）",
            "example": ["5栋 → 5号楼"],
        },
    )
    changes = ma.fields.List(
        ma.fields.Nested(DwellingChangeSchema), metadata={"description": "已更新的户及其变化"}
    )
    owner_changes = ma.fields.List(ma.fields.Nested(OwnerChangeSchema))
    not_in_file = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "系统中有而文件中没有的户：原样保留，未删除"},
    )
    area_downgrade_reason = ma.fields.String(
        allow_none=True, metadata={"description": "委员会确认面积来源降级的理由"}
    )
    area_downgrades = ma.fields.List(
        ma.fields.Nested(AreaDowngradeSchema),
        metadata={"description": "经确认以较低优先来源替换面积的户：原来源及面积 → 新来源及面积"},
    )
    account_links = ma.fields.List(
        ma.fields.Nested(AccountLinkSchema),
        metadata={"description": "居民账号随名册关联、解除关联或保留的情况"},
    )


class RosterImportSchema(Schema):
    id = Integer()
    compound_id = Integer()
    filename = ma.fields.String()
    dry_run = ma.fields.Boolean()
    area_downgrade_reason = ma.fields.String(allow_none=True)
    status = ma.fields.Enum(
        ImportStatus,
        by_value=True,
        metadata={
            "description": "queued → running → done（已导入；试导入时为已检查）/ rejected"
            "（有问题，未写入）/ failed（意外错误，未写入）"
        },
    )
    rows_total = Integer()
    rows_done = Integer(metadata={"description": "已检查的行数"})
    message = ma.fields.String(attribute="report.message", dump_default="")
    created_at = LocalDateTime()
    finished_at = LocalDateTime(allow_none=True)


class RosterImportDetailSchema(RosterImportSchema):
    report = ma.fields.Nested(ImportReportSchema, allow_none=True)


class RosterRejectedErrorsSchema(Schema):
    """``rows`` for a refused file; a request that is itself wrong (no file) names its
    fields instead, as every 422 does."""

    class Meta:
        unknown = ma.INCLUDE

    rows = ma.fields.List(ma.fields.Nested(RowProblemSchema))


class RosterRejectedSchema(ErrorSchema):
    """422 ``roster_invalid``: ``errors.rows`` lists every problem; the rejected import is at
    the ``Location`` header."""

    errors = ma.fields.Nested(RosterRejectedErrorsSchema)
