"""Shapes of the notice board's API: notices, short links, QR codes, posters, and 公示 (results on
public notice, objections)."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_smorest.fields import Upload

from participation.common.schemas import (
    Integer,
    LocalDateTime,
    OneOfNested,
    PatchSchema,
    Schema,
)
from participation.counting import Basis, Rule
from participation.notices.links import CODE_PATTERN
from participation.notices.models import BatchStatus, LinkTarget, NoticeKind, Verdict
from participation.roster.models import ProxyRule
from participation.surveys.models import SurveyKind
from participation.surveys.schemas import ConsentGateSchema
from participation.votes.models import Matter, VoteStatus
from participation.votes.schemas import DecisionSchema, PaperBallotUploadSchema, ResultSchema

KIND_DESCRIPTION = "general 公告 / campaign 征集或表决 / result 结果公示 / progress 项目进度"


# Notices --------------------------------------------------------------------------------------


class NoticeInSchema(Schema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=120))
    body = ma.fields.String(load_default="", validate=ma.validate.Length(max=20000))
    kind = ma.fields.Enum(
        NoticeKind,
        by_value=True,
        load_default=NoticeKind.GENERAL,
        metadata={"description": KIND_DESCRIPTION},
    )
    pinned = ma.fields.Boolean(load_default=False, metadata={"description": "置顶"})
    public = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "true：未登录的公众也能看到（不含个人信息的公告）"},
    )
    building_ids = ma.fields.List(
        Integer(),
        load_default=list,
        validate=ma.validate.Length(max=500),
        metadata={"description": "范围：楼栋；与 entrance_ids 均为空时为全小区"},
    )
    entrance_ids = ma.fields.List(
        Integer(), load_default=list, validate=ma.validate.Length(max=2000)
    )
    valid_from = LocalDateTime(metadata={"description": "开始展示的时间，默认现在"})
    valid_until = LocalDateTime(
        allow_none=True, metadata={"description": "撤下的时间，须晚于 valid_from；空：一直展示"}
    )


class NoticePatchSchema(NoticeInSchema, PatchSchema):
    """Any of the notice's fields; the others stay."""

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class NoticeAttachmentSchema(Schema):
    id = Integer()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = Integer(metadata={"description": "字节"})
    sha256 = ma.fields.String()
    created_at = LocalDateTime()


class BoardNoticeSchema(Schema):
    """A notice as the board shows it."""

    id = Integer()
    compound_id = Integer()
    kind = ma.fields.Enum(NoticeKind, by_value=True, metadata={"description": KIND_DESCRIPTION})
    title = ma.fields.String()
    body = ma.fields.String()
    pinned = ma.fields.Boolean()
    public = ma.fields.Boolean()
    building_ids = ma.fields.List(Integer())
    entrance_ids = ma.fields.List(Integer())
    valid_from = LocalDateTime()
    valid_until = LocalDateTime(allow_none=True)
    vote_id = Integer(allow_none=True, metadata={"description": "所属表决（自动发布的公告）"})
    survey_id = Integer(allow_none=True, metadata={"description": "所属问卷（自动发布的公告）"})
    created_at = LocalDateTime()
    attachments = ma.fields.List(ma.fields.Nested(NoticeAttachmentSchema))
    page_url = ma.fields.Method(
        "_page_url", metadata={"description": "公开的公告页面（仅 public 公告），可打印"}
    )

    def _page_url(self, notice) -> str | None:
        return f"/notices/{notice.id}" if notice.public else None


class StaffBoardNoticeSchema(BoardNoticeSchema):
    """What staff see besides: when it was changed or taken down, and by whom it was made."""

    source = ma.fields.String(
        allow_none=True, metadata={"description": "自动发布的来源，如 vote:12:opened"}
    )
    created_by_id = Integer(allow_none=True)
    updated_at = LocalDateTime(allow_none=True)
    withdrawn_at = LocalDateTime(allow_none=True, metadata={"description": "撤下的时间"})


class NoticeQuerySchema(Schema):
    compound_id = Integer(
        validate=ma.validate.Range(min=1), metadata={"description": "只看这个小区的公告"}
    )


class NoticeAttachmentUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "PDF、JPEG 或 PNG，不超过 10 MB"})

    @ma.pre_load
    def _with_form_fields(self, data, **kwargs):
        # webargs reads the "files" location from request.files only.
        return {**request.form.to_dict(), **data}


# Short links and QR codes -----------------------------------------------------------------------


class LinkInSchema(Schema):
    target = ma.fields.Enum(
        LinkTarget,
        by_value=True,
        load_default=LinkTarget.COMPOUND,
        metadata={"description": "compound 小区首页 / vote 表决 / survey 问卷 / notice 公告"},
    )
    target_id = Integer(
        validate=ma.validate.Range(min=1),
        metadata={"description": "表决、问卷或公告的 id（target 为 compound 时不填）"},
    )

    @ma.validates_schema
    def _target_id_when_needed(self, data, **kwargs):
        needs = data.get("target", LinkTarget.COMPOUND) is not LinkTarget.COMPOUND
        if needs and "target_id" not in data:
            raise ma.ValidationError("请填写 target_id", "target_id")
        if not needs and "target_id" in data:
            raise ma.ValidationError("小区首页的链接不需要 target_id", "target_id")


class LinkSchema(Schema):
    id = Integer()
    code = ma.fields.String(metadata={"pattern": CODE_PATTERN.pattern})
    url = ma.fields.String(metadata={"description": "二维码中的完整地址"})
    compound_id = Integer()
    target = ma.fields.Enum(LinkTarget, by_value=True)
    target_id = Integer()
    lands_on = ma.fields.String(metadata={"description": "扫码后打开的页面（本站路径）"})
    current = ma.fields.Boolean(metadata={"description": "false：已更换，旧码会提示新地址"})
    replaced_by_id = Integer(allow_none=True)
    created_at = LocalDateTime()
    rotated_at = LocalDateTime(allow_none=True)
    qr_png = ma.fields.String(metadata={"description": "二维码 PNG 的地址"})
    qr_svg = ma.fields.String(metadata={"description": "二维码 SVG 的地址"})
    poster_png = ma.fields.String(metadata={"description": "A4 海报 PNG（300 dpi）的地址"})
    poster_pdf = ma.fields.String(metadata={"description": "A4 海报 PDF 的地址"})


class QrQuerySchema(Schema):
    size = Integer(
        load_default=600,
        validate=ma.validate.Range(min=100, max=4000),
        metadata={"description": "PNG 的边长（像素），含四格静区"},
    )


class PosterQuerySchema(Schema):
    organiser = ma.fields.String(
        validate=ma.validate.Length(min=1, max=60),
        metadata={"description": "主办单位，默认“<社区>居民委员会”"},
    )
    phone = ma.fields.String(
        validate=[ma.validate.Length(min=3, max=20), ma.validate.Regexp(r"^[0-9\-]+$")],
        metadata={"description": "咨询电话，默认 HELP_PHONE"},
    )


# Poster batches ---------------------------------------------------------------------------------


class PosterBatchInSchema(Schema):
    level = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["community", "street", "district"]),
        metadata={"description": "community 社区 / street 街道 / district 区"},
    )
    place_id = Integer(required=True, validate=ma.validate.Range(min=1))


class PosterBatchSchema(Schema):
    id = Integer()
    level = ma.fields.String()
    place_id = Integer()
    place_name = ma.fields.String()
    status = ma.fields.Enum(
        BatchStatus,
        by_value=True,
        metadata={"description": "queued 排队 / running 生成中 / done 完成 / failed 失败"},
    )
    done = Integer(metadata={"description": "已生成的海报数"})
    total = Integer(metadata={"description": "海报总数（小区数）"})
    size = Integer(allow_none=True, metadata={"description": "zip 文件的字节数"})
    error = ma.fields.String(allow_none=True)
    created_at = LocalDateTime()
    finished_at = LocalDateTime(allow_none=True)
    download = ma.fields.Method("_download", metadata={"description": "完成后 zip 的下载地址"})

    def _download(self, batch) -> str | None:
        if batch.status is not BatchStatus.DONE:
            return None
        return f"/api/v1/poster-batches/{batch.id}/download"


# 公示 (publication) ------------------------------------------------------------------------

STATUS_DESCRIPTION = "closed 已截止 / published 公示中 / final 结果已确定"


def _text(name: str) -> ma.fields.String:
    return ma.fields.String(
        required=True,
        validate=[
            ma.validate.Length(max=2000, error=f"{name}不能超过 2000 字"),
            ma.validate.Regexp(r"\s*\S", error=f"请填写{name}"),
        ],
        error_messages={"required": f"请填写{name}"},
    )


class ObjectionInSchema(Schema):
    summary = _text("异议内容")


class MyObjectionInSchema(Schema):
    """``multipart/form-data``: the objection's facts and reasons, and up to 6 photos."""

    summary = _text("异议的事实和理由")
    photos = ma.fields.List(
        Upload(),
        load_default=list,
        metadata={"description": "照片或扫描件：JPEG、PNG 或 PDF，每个不超过 10 MB，最多 6 个"},
    )

    @ma.pre_load
    def _with_form_fields(self, data, **kwargs):
        # webargs reads the "files" location from request.files only (see the roster upload).
        return {**request.form.to_dict(), "photos": request.files.getlist("photos")}


class ResolutionInSchema(Schema):
    verdict = ma.fields.Enum(
        Verdict,
        by_value=True,
        required=True,
        error_messages={
            "required": "请选择异议是否成立",
            "unknown": "应为 upheld（异议成立）或 not_upheld（异议不成立）",
        },
        metadata={"description": "upheld 异议成立 / not_upheld 异议不成立"},
    )
    resolution = _text("答复理由")


class ObjectionPhotoSchema(Schema):
    id = Integer()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    sha256 = ma.fields.String()
    url = ma.fields.Function(
        lambda photo: f"/api/v1/objection-photos/{photo.id}",
        metadata={"description": "下载地址（工作人员及提出异议的业主本人）"},
    )


class ObjectionSchema(Schema):
    """An objection to a vote's result (``vote_id``) or a survey's (``survey_id``), with
    the committee's answer."""

    id = Integer()
    vote_id = Integer(allow_none=True, metadata={"description": "表决的异议；否则 null"})
    survey_id = Integer(allow_none=True, metadata={"description": "问卷的异议；否则 null"})
    summary = ma.fields.String()
    filer = ma.fields.String(
        metadata={"description": "提出人（公开称呼，如 2栋1单元业主；书面异议由工作人员登记）"}
    )
    recorded_by_id = Integer(allow_none=True, metadata={"description": "登记书面异议的工作人员"})
    recorded_at = LocalDateTime(metadata={"description": "提出的时间"})
    photos = ma.fields.List(ma.fields.Nested(ObjectionPhotoSchema))
    verdict = ma.fields.Enum(
        Verdict,
        by_value=True,
        allow_none=True,
        metadata={"description": "upheld 异议成立 / not_upheld 异议不成立 / null 待答复"},
    )
    resolution = ma.fields.String(allow_none=True, metadata={"description": "答复理由"})
    resolved_by_id = Integer(allow_none=True)
    resolved_at = LocalDateTime(allow_none=True)


class VoidInSchema(Schema):
    """The cast to void (its receipt code or its record id) and why."""

    receipt = ma.fields.String(metadata={"description": "选票的回执码"})
    event_id = Integer(metadata={"description": "或：选票的记录编号（见 conflicts）"})
    reason = _text("作废的理由")


class CorrectionPaperBallotUploadSchema(PaperBallotUploadSchema):
    """A paper ballot signed before the closing time and not entered in time, admitted for
    an upheld objection: the paper ballot's fields and the reason."""

    reason = _text("补录的理由")


class PublicationSchema(Schema):
    """A vote's or a survey's place in 公示."""

    id = Integer()
    status = ma.fields.String(
        metadata={"enum": [s.value for s in VoteStatus], "description": STATUS_DESCRIPTION}
    )
    closed_at = LocalDateTime(allow_none=True)
    published_at = LocalDateTime(allow_none=True)
    objection_until = LocalDateTime(allow_none=True, metadata={"description": "异议期截止"})
    finalized_at = LocalDateTime(allow_none=True)


class PublicObjectionSchema(Schema):
    id = Integer()
    filer = ma.fields.String(metadata={"description": "提出人（楼栋单元的业主，不含姓名房号）"})
    summary = ma.fields.String(metadata={"description": "异议内容（电话、证件号等数字已隐去）"})
    filed_at = LocalDateTime()
    verdict = ma.fields.String(
        allow_none=True,
        metadata={"enum": [v.value for v in Verdict] + [None], "description": "null：待答复"},
    )
    answer = ma.fields.String(allow_none=True, metadata={"description": "答复理由"})
    answered_at = LocalDateTime(allow_none=True)


class ObjectionCountsSchema(Schema):
    received = Integer()
    resolved = Integer(metadata={"description": "已答复"})
    items = ma.fields.List(ma.fields.Nested(PublicObjectionSchema))


class CorrectionSchema(Schema):
    action = ma.fields.String(
        metadata={
            "enum": ["void", "paper_ballot"],
            "description": "void 作废一张选票 / paper_ballot 补录截止前签署的纸质票",
        }
    )
    at = LocalDateTime()
    objection_id = Integer(metadata={"description": "所依据的成立异议"})
    reason = ma.fields.String()


class ResultNoticeSchema(Schema):
    """公示: one document for votes and surveys, for the notice board and its printed page.
    Aggregates and place names only, no personal data."""

    kind = ma.fields.String(
        metadata={"enum": ["vote", "survey"], "description": "vote 表决 / survey 问卷"}
    )
    id = Integer(metadata={"description": "表决或问卷的 id"})
    vote_id = Integer(allow_none=True, metadata={"description": "表决的公示；否则 null"})
    survey_id = Integer(allow_none=True, metadata={"description": "问卷的公示；否则 null"})
    title = ma.fields.String()
    matter = ma.fields.String(
        metadata={
            "enum": [m.value for m in Matter] + [k.value for k in SurveyKind],
            "description": "表决事项（民法典第278条，如 elevator 加装电梯），或问卷类型"
            "（consent 意愿征集）",
        }
    )
    rule = ma.fields.String(
        metadata={
            "enum": [r.value for r in Rule],
            "description": "计票规则：civil_code_major 民法典第278条第(六)至(八)项"
            "（双三分之二参与、双四分之三同意）/ civil_code_ordinary 其他事项"
            "（双三分之二参与、双过半数同意）/ renovation_consent 改造意愿（同意达到三分之二）",
        }
    )
    proxy_rule = ma.fields.String(
        allow_none=True,
        metadata={
            "enum": [r.value for r in ProxyRule] + [None],
            "description": "表决：同一业主多张选票以哪张为准（latest 最后作出的一票 / "
            "owner_prevails 业主本人优先于受托人）；问卷为 null",
        },
    )
    basis = ma.fields.String(
        metadata={
            "enum": [b.value for b in Basis],
            "description": "按 count 人数 / area 专有部分面积 / both 人数和面积计（表决恒为 both）",
        }
    )
    compound = ma.fields.String(metadata={"description": "小区"})
    buildings = ma.fields.List(ma.fields.String(), metadata={"description": "范围：楼栋"})
    entrances = ma.fields.List(ma.fields.String(), metadata={"description": "范围：单元"})
    opens_at = LocalDateTime()
    closes_at = LocalDateTime()
    published_at = LocalDateTime()
    objection_until = LocalDateTime(metadata={"description": "异议期截止"})
    finalized_at = LocalDateTime(allow_none=True)
    final = ma.fields.Boolean(metadata={"description": "true 最终结果 / false 初步结果（公示中）"})
    result = OneOfNested(
        {"vote": ResultSchema, "survey": ConsentGateSchema},
        by="kind",
        metadata={"description": "全范围的统计（按 kind：表决结果或意愿征集同意率），不分楼栋"},
    )
    decision = ma.fields.Nested(
        DecisionSchema,
        allow_none=True,
        metadata={
            "description": "表决：最终结果。result.passed 是本表决自身规则的结果；加装电梯占用"
            "共有部分时 decision.passed 还要求所关联的全小区表决通过（未决为 null）。问卷为 null"
        },
    )
    objections = ma.fields.Nested(
        ObjectionCountsSchema, metadata={"description": "收到及已答复的异议，及每条异议与答复"}
    )
    corrections = ma.fields.List(
        ma.fields.Nested(CorrectionSchema),
        metadata={"description": "异议成立后对计票的更正（每次更正后重新公示）"},
    )
