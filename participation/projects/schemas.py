"""Shapes of the projects API: projects and their steps, moves, links, documents, history, the
self-governing organisation."""

from __future__ import annotations

import marshmallow as ma

from participation.auth.schemas import MobilePhone
from participation.common.schemas import (
    Amount,
    CountRatioSchema,
    Integer,
    LocalDateTime,
    PatchSchema,
    Schema,
)
from participation.projects.models import (
    FUNDING_LABELS,
    MANAGEMENT_LABELS,
    MEMBER_ROLE_LABELS,
    STEP_LABELS,
    ArchiveStatus,
    FundingSource,
    Handling,
    LinkKind,
    ManagementMode,
    MemberRole,
    OrganisationKind,
    PaymentMethod,
    PhotoKind,
    Stance,
    StepKey,
    StepStatus,
)
from participation.projects.overview import SORTS as OVERVIEW_SORTS
from participation.surveys.schemas import Money, SatisfactionSchema

STEP_DESCRIPTION = " / ".join(f"{key.value} {label}" for key, label in STEP_LABELS.items())
STATUS_DESCRIPTION = "not_started 未开始 / in_progress 进行中 / done 已完成 / reopened 已重新打开"
ORGANISATION_DESCRIPTION = (
    "owners_committee 业主委员会 / self_management_group 自管小组 / residents_council 居民议事会 "
    "/ renovation_council 改造议事会 / other 其他"
)


def _reason() -> ma.fields.String:
    return ma.fields.String(
        load_default="", validate=ma.validate.Length(max=1000), metadata={"description": "说明"}
    )


def _required_reason(description: str) -> ma.fields.String:
    return ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=1000, error="原因须为 1 至 1000 字"),
        error_messages={"required": "请填写原因"},
        metadata={"description": description},
    )


class ProjectInSchema(Schema):
    year = Integer(
        required=True,
        validate=ma.validate.Range(2000, 2100, error="年度须在 2000 至 2100 之间"),
        metadata={"description": "改造计划年度"},
    )
    title = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=200, error="名称须为 1 至 200 字")
    )


class ProjectStepSchema(Schema):
    id = Integer()
    project_id = Integer()
    step = ma.fields.Enum(StepKey, by_value=True, metadata={"description": STEP_DESCRIPTION})
    label = ma.fields.String()
    position = Integer(metadata={"description": "1–8"})
    status = ma.fields.Enum(StepStatus, by_value=True, metadata={"description": STATUS_DESCRIPTION})
    planned_start = ma.fields.Date(allow_none=True)
    planned_end = ma.fields.Date(allow_none=True)
    actual_start = ma.fields.Date(allow_none=True)
    actual_end = ma.fields.Date(allow_none=True)
    organisation = ma.fields.String(metadata={"description": "责任单位"})
    note = ma.fields.String()
    updated_at = LocalDateTime(allow_none=True)


class ProjectStepPatchSchema(PatchSchema):
    planned_start = ma.fields.Date(allow_none=True)
    planned_end = ma.fields.Date(allow_none=True)
    actual_start = ma.fields.Date(allow_none=True)
    actual_end = ma.fields.Date(allow_none=True)
    organisation = ma.fields.String(validate=ma.validate.Length(max=120))
    note = ma.fields.String(validate=ma.validate.Length(max=2000))
    status = ma.fields.Enum(
        StepStatus,
        by_value=True,
        validate=ma.validate.OneOf([StepStatus.IN_PROGRESS], error="只能设为 in_progress（开始）"),
        metadata={"description": "in_progress：开始该步骤（完成、重新打开另有操作）"},
    )
    reason = _reason()


class StepCompleteSchema(Schema):
    reason = _reason()
    actual_end = ma.fields.Date(allow_none=True, metadata={"description": "实际完成日期，默认今天"})


class StepReopenSchema(Schema):
    reason = _required_reason("重新打开的原因")


class ProjectLinkInSchema(Schema):
    kind = ma.fields.Enum(
        LinkKind,
        by_value=True,
        required=True,
        metadata={"description": "vote 表决 / survey 问卷 / notice 公告 / ticket 投诉建议"},
    )
    target_id = Integer(required=True, validate=ma.validate.Range(min=1))


class ProjectLinkSchema(Schema):
    id = Integer()
    kind = ma.fields.Enum(LinkKind, by_value=True)
    target_id = Integer()
    created_at = LocalDateTime()


class DocumentFieldsSchema(Schema):
    """A document kept where the district keeps its files: its name, address and SHA-256."""

    name = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=200, error="名称须为 1 至 200 字")
    )
    url = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=500),
        metadata={"description": "文件存放地址或存储键"},
    )
    sha256 = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^[0-9a-fA-F]{64}$", error="须为 64 位十六进制 SHA-256"),
    )


class ProjectDocumentInSchema(DocumentFieldsSchema):
    photo = ma.fields.Enum(
        PhotoKind,
        by_value=True,
        allow_none=True,
        metadata={"description": "照片：before 改造前 / after 改造后；文档不填"},
    )
    step_id = Integer(allow_none=True, validate=ma.validate.Range(min=1))


class ProjectDocumentSchema(Schema):
    id = Integer()
    step_id = Integer(allow_none=True)
    name = ma.fields.String()
    url = ma.fields.String()
    sha256 = ma.fields.String()
    photo = ma.fields.Enum(PhotoKind, by_value=True, allow_none=True)
    created_at = LocalDateTime()


class GateRefusalSchema(Schema):
    code = ma.fields.String()
    message = ma.fields.String()


class StepGateSchema(Schema):
    step = ma.fields.Enum(StepKey, by_value=True)
    refusal = ma.fields.Nested(
        GateRefusalSchema,
        allow_none=True,
        metadata={"description": "现在能否完成；null 为可以完成"},
    )


class ProjectSchema(Schema):
    id = Integer()
    compound_id = Integer()
    year = Integer()
    title = ma.fields.String()
    created_at = LocalDateTime()
    current_step = ma.fields.Enum(
        StepKey, by_value=True, allow_none=True, metadata={"description": "第一个未完成的步骤"}
    )
    steps = ma.fields.List(ma.fields.Nested(ProjectStepSchema))


class ProjectDetailSchema(ProjectSchema):
    links = ma.fields.List(ma.fields.Nested(ProjectLinkSchema))
    documents = ma.fields.List(ma.fields.Nested(ProjectDocumentSchema))
    gates = ma.fields.List(ma.fields.Nested(StepGateSchema))


class ProjectEventSchema(Schema):
    id = Integer()
    step_id = Integer(allow_none=True)
    action = ma.fields.String(
        metadata={"description": "created / updated / completed / reopened / linked / documented"}
    )
    from_status = ma.fields.Enum(StepStatus, by_value=True, allow_none=True)
    to_status = ma.fields.Enum(StepStatus, by_value=True, allow_none=True)
    reason = ma.fields.String()
    staff_id = Integer()
    staff_name = ma.fields.String(allow_none=True, metadata={"description": "操作人"})
    at = LocalDateTime()


class OrganisationInSchema(Schema):
    kind = ma.fields.Enum(
        OrganisationKind,
        by_value=True,
        required=True,
        metadata={"description": ORGANISATION_DESCRIPTION},
    )
    name = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=120, error="名称须为 1 至 120 字")
    )
    established_on = ma.fields.Date(allow_none=True, metadata={"description": "成立日期"})


class OrganisationSchema(Schema):
    id = Integer()
    compound_id = Integer()
    kind = ma.fields.Enum(OrganisationKind, by_value=True)
    name = ma.fields.String()
    established_on = ma.fields.Date(allow_none=True)
    recorded_at = LocalDateTime()


MEMBER_ROLE_DESCRIPTION = " / ".join(
    f"{r.value} {label}" for r, label in MEMBER_ROLE_LABELS.items()
)


class MemberInSchema(Schema):
    name = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=64, error="姓名须为 1 至 64 字")
    )
    phone = MobilePhone(
        load_default=None,
        allow_none=True,
        metadata={"description": "主任、副主任、秘书必填：据此开通或关联业委会工作账号"},
    )
    role = ma.fields.Enum(
        MemberRole, by_value=True, required=True, metadata={"description": MEMBER_ROLE_DESCRIPTION}
    )


class MemberSchema(Schema):
    id = Integer()
    name = ma.fields.String(metadata={"description": "本小区业委会可见全名，其他人为 张*"})
    phone = ma.fields.String(
        allow_none=True, metadata={"description": "本小区业委会可见全号，其他人为 138****5678"}
    )
    role = ma.fields.Enum(MemberRole, by_value=True)
    role_label = ma.fields.String()
    staff_id = Integer(allow_none=True, metadata={"description": "其工作账号（有业委会权限者）"})
    created_at = LocalDateTime()


class MemberAccountSchema(Schema):
    staff_id = Integer()
    username = ma.fields.String()
    created = ma.fields.Boolean(metadata={"description": "新开通（false：关联已有账号）"})
    initial_password = ma.fields.String(
        metadata={"description": "新开通账号的初始密码，仅此一次显示；请当面交给本人并提醒修改"}
    )


class MemberAddedSchema(Schema):
    member = ma.fields.Nested(MemberSchema)
    account = ma.fields.Nested(
        MemberAccountSchema,
        allow_none=True,
        metadata={"description": "有业委会权限的成员：其工作账号；其他成员为 null"},
    )


# 方案征求意见 --------------------------------------------------------------------------------


class PlanItemInSchema(Schema):
    name = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=120, error="项目名称须为 1 至 120 字")
    )
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))
    cost = Money(required=True, metadata={"description": "该项费用（元）"})
    residents_part = Money(required=True, metadata={"description": "其中居民出资（元）"})


def _items_field() -> ma.fields.List:
    return ma.fields.List(
        ma.fields.Nested(PlanItemInSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=100, error="方案须有 1 至 100 个项目"),
    )


def _documents_field() -> ma.fields.List:
    return ma.fields.List(
        ma.fields.Nested(DocumentFieldsSchema),
        load_default=list,
        validate=ma.validate.Length(max=50),
        metadata={"description": "设计图纸、方案文本（存放地址与 SHA-256）"},
    )


class ConsultationInSchema(Schema):
    title = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=200, error="标题须为 1 至 200 字")
    )
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=5000))
    opens_at = LocalDateTime(required=True)
    closes_at = LocalDateTime(required=True)
    items = _items_field()
    documents = _documents_field()


class PlanItemSchema(Schema):
    id = Integer()
    position = Integer()
    name = ma.fields.String()
    description = ma.fields.String()
    cost = Amount()
    residents_part = Amount()
    support = Integer(allow_none=True, metadata={"description": "支持户数（仅工作人员可见）"})
    oppose = Integer(allow_none=True, metadata={"description": "反对户数（仅工作人员可见）"})
    my_share = Amount(
        allow_none=True, metadata={"description": "居民：本户分摊的该项居民出资；工作人员为 null"}
    )


class PlanCommentSchema(Schema):
    id = Integer()
    item_id = Integer(allow_none=True)
    room = ma.fields.String(metadata={"description": "房号"})
    text = ma.fields.String()
    created_at = LocalDateTime()
    handling = ma.fields.Enum(
        Handling,
        by_value=True,
        allow_none=True,
        metadata={"description": "adopted 采纳 / partly 部分采纳 / rejected 不采纳；null 未处理"},
    )
    reason = ma.fields.String()
    handled_at = LocalDateTime(allow_none=True)


class StanceSchema(Schema):
    item_id = Integer(required=True, validate=ma.validate.Range(min=1))
    stance = ma.fields.Enum(
        Stance, by_value=True, required=True, metadata={"description": "support 支持 / oppose 反对"}
    )


class MyFeedbackSchema(Schema):
    stances = ma.fields.List(ma.fields.Nested(StanceSchema))
    comments = ma.fields.List(ma.fields.Nested(PlanCommentSchema))


class PlanReviewSchema(Schema):
    id = Integer()
    revision = Integer()
    changes = ma.fields.String()
    reviewer = ma.fields.String()
    reviewed_on = ma.fields.Date()
    conclusion = ma.fields.String()
    notice_id = Integer(allow_none=True)
    recorded_at = LocalDateTime()


class ConsultationSchema(Schema):
    id = Integer()
    project_id = Integer()
    title = ma.fields.String()
    description = ma.fields.String()
    opens_at = LocalDateTime()
    closes_at = LocalDateTime()
    open = ma.fields.Boolean(metadata={"description": "现在是否在征求意见期内"})
    revision = Integer(metadata={"description": "0 为征求意见稿，之后为修改稿"})
    total_cost = Amount()
    residents_total = Amount()
    items = ma.fields.List(ma.fields.Nested(PlanItemSchema))
    documents = ma.fields.List(ma.fields.Nested(ProjectDocumentSchema))
    notice_id = Integer(allow_none=True)
    summary_notice_id = Integer(allow_none=True)
    summary_published_at = LocalDateTime(allow_none=True)
    reviews = ma.fields.List(ma.fields.Nested(PlanReviewSchema))
    my_share = Amount(allow_none=True, metadata={"description": "居民：本户分摊的居民出资"})
    mine = ma.fields.Nested(
        MyFeedbackSchema, allow_none=True, metadata={"description": "居民：自己的表态和意见"}
    )


class FeedbackInSchema(Schema):
    stances = ma.fields.List(
        ma.fields.Nested(StanceSchema), load_default=list, validate=ma.validate.Length(max=100)
    )
    comments = ma.fields.List(
        ma.fields.Nested(lambda: CommentInSchema()),
        load_default=list,
        validate=ma.validate.Length(max=20),
    )

    @ma.validates_schema
    def _something(self, data, **kwargs):
        if not data.get("stances") and not data.get("comments"):
            raise ma.ValidationError("请对项目表态或填写意见")


class CommentInSchema(Schema):
    item_id = Integer(
        allow_none=True,
        validate=ma.validate.Range(min=1),
        metadata={"description": "针对的项目；不填为对整体方案的意见"},
    )
    text = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=1000, error="意见须为 1 至 1000 字")
    )


class HandlingInSchema(Schema):
    handling = ma.fields.Enum(
        Handling,
        by_value=True,
        required=True,
        metadata={"description": "adopted 采纳 / partly 部分采纳 / rejected 不采纳"},
    )
    reason = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=1000),
        metadata={"description": "部分采纳、不采纳时必填"},
    )


class HouseholdShareSchema(Schema):
    dwelling_id = Integer()
    label = ma.fields.String()
    area = Amount()
    share = Amount()


class SummaryItemSchema(Schema):
    id = Integer()
    name = ma.fields.String()
    cost = Amount()
    residents_part = Amount()
    support = Integer()
    oppose = Integer()


class SummaryCommentSchema(Schema):
    id = Integer()
    room = ma.fields.String()
    item = ma.fields.String(allow_none=True)
    text = ma.fields.String()
    handling = ma.fields.Enum(Handling, by_value=True, allow_none=True)
    handling_label = ma.fields.String(allow_none=True)
    reason = ma.fields.String()


class ConsultationSummarySchema(Schema):
    items = ma.fields.List(ma.fields.Nested(SummaryItemSchema))
    comments = ma.fields.List(ma.fields.Nested(SummaryCommentSchema))
    published_at = LocalDateTime(allow_none=True)


class RevisionInSchema(Schema):
    items = _items_field()
    documents = _documents_field()
    changes = ma.fields.String(
        load_default="", validate=ma.validate.Length(max=5000), metadata={"description": "主要修改"}
    )
    reviewer = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=120),
        metadata={"description": "审查单位"},
    )
    reviewed_on = ma.fields.Date(required=True)
    conclusion = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=2000),
        metadata={"description": "审查结论"},
    )


# Funding -------------------------------------------------------------------------------------

FUNDING_DESCRIPTION = " / ".join(f"{s.value} {label}" for s, label in FUNDING_LABELS.items())


class FundingLineInSchema(Schema):
    source = ma.fields.Enum(
        FundingSource, by_value=True, required=True, metadata={"description": FUNDING_DESCRIPTION}
    )
    amount = Money(required=True, metadata={"description": "金额（元）"})
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))


class FundingInSchema(Schema):
    sources = ma.fields.List(
        ma.fields.Nested(FundingLineInSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=len(FundingSource)),
    )


class FundingLineSchema(Schema):
    source = ma.fields.Enum(FundingSource, by_value=True)
    label = ma.fields.String()
    amount = Amount()
    note = ma.fields.String()


class FundingSchema(Schema):
    plan_total = Amount(allow_none=True, metadata={"description": "方案总投资；未发布方案为 null"})
    residents_due = Amount(allow_none=True, metadata={"description": "方案中的居民出资合计"})
    sources = ma.fields.List(ma.fields.Nested(FundingLineSchema))
    funded_total = Amount()
    reconciled = ma.fields.Boolean(metadata={"description": "各来源合计等于方案总投资"})
    residents_collected = Amount()
    residents_outstanding = Amount(allow_none=True)


class CollectionInSchema(Schema):
    dwelling_id = Integer(required=True, validate=ma.validate.Range(min=1))
    amount = Money(required=True, metadata={"description": "缴款金额（元）"})
    paid_on = ma.fields.Date(required=True)
    method = ma.fields.Enum(
        PaymentMethod,
        by_value=True,
        required=True,
        metadata={
            "description": "cash 现金 / transfer 银行转账 / wechat 微信 / alipay 支付宝 / other"
        },
    )
    reference = ma.fields.String(
        load_default="", validate=ma.validate.Length(max=64), metadata={"description": "票据号"}
    )


class CollectionSchema(Schema):
    id = Integer()
    dwelling_id = Integer()
    amount = Amount()
    paid_on = ma.fields.Date()
    method = ma.fields.Enum(PaymentMethod, by_value=True)
    reference = ma.fields.String()
    recorded_at = LocalDateTime()


class HouseholdDueSchema(HouseholdShareSchema):
    due = Amount(metadata={"description": "应缴：本户分摊的居民出资"})
    collected = Amount(metadata={"description": "已缴"})
    outstanding = Amount(metadata={"description": "未缴（负数为多缴）"})


# 项目接管 ------------------------------------------------------------------------------------

MODE_DESCRIPTION = " / ".join(f"{m.value} {label}" for m, label in MANAGEMENT_LABELS.items())


class ManagementInSchema(Schema):
    mode = ma.fields.Enum(
        ManagementMode, by_value=True, required=True, metadata={"description": MODE_DESCRIPTION}
    )
    vote_id = Integer(allow_none=True, validate=ma.validate.Range(min=1))
    survey_id = Integer(allow_none=True, validate=ma.validate.Range(min=1))

    @ma.validates_schema
    def _one_campaign(self, data, **kwargs):
        if (data.get("vote_id") is None) == (data.get("survey_id") is None):
            raise ma.ValidationError("请填写 vote_id 或 survey_id 其中之一", "vote_id")


class ManagementOptionSchema(Schema):
    value = ma.fields.String()
    label = ma.fields.String()
    count = Integer()


class ManagementResultSchema(Schema):
    campaign = ma.fields.String(metadata={"description": "vote / survey"})
    id = Integer()
    title = ma.fields.String()
    chosen = ma.fields.String()
    question = ma.fields.String(metadata={"description": "问卷：管理方式问题"})
    respondents = Integer(metadata={"description": "问卷：回答该问题的业主人数"})
    options = ma.fields.List(ma.fields.Nested(ManagementOptionSchema))
    t_cnt = Integer(allow_none=True)
    t_area = Amount(allow_none=True)
    p_cnt = Integer(allow_none=True)
    p_area = Amount(allow_none=True)
    y_cnt = Integer(allow_none=True)
    y_area = Amount(allow_none=True)
    passed = ma.fields.Boolean(allow_none=True)


class ManagementSchema(Schema):
    mode = ma.fields.Enum(ManagementMode, by_value=True)
    label = ma.fields.String()
    vote_id = Integer(allow_none=True)
    survey_id = Integer(allow_none=True)
    result = ma.fields.Nested(
        ManagementResultSchema, metadata={"description": "登记时该表决或问卷的最终结果"}
    )
    recorded_at = LocalDateTime()


# Public progress -------------------------------------------------------------------------------


class ProjectProgressStepSchema(Schema):
    step = ma.fields.Enum(StepKey, by_value=True, metadata={"description": STEP_DESCRIPTION})
    label = ma.fields.String()
    status = ma.fields.Enum(StepStatus, by_value=True, metadata={"description": STATUS_DESCRIPTION})
    status_label = ma.fields.String()
    organisation = ma.fields.String(metadata={"description": "责任单位"})
    planned_start = ma.fields.Date(allow_none=True)
    planned_end = ma.fields.Date(allow_none=True)
    actual_start = ma.fields.Date(allow_none=True)
    actual_end = ma.fields.Date(allow_none=True)


class ProjectProgressPhotoSchema(Schema):
    id = Integer()
    name = ma.fields.String()
    url = ma.fields.String()
    photo = ma.fields.Enum(PhotoKind, by_value=True, metadata={"description": "before / after"})


class ProjectProgressFundingSchema(Schema):
    plan_total = Amount(allow_none=True)
    sources = ma.fields.List(ma.fields.Nested(FundingLineSchema))
    funded_total = Amount()


class ProjectProgressConsultationSchema(Schema):
    id = Integer()
    title = ma.fields.String()
    opens_at = LocalDateTime()
    closes_at = LocalDateTime()
    open = ma.fields.Boolean(metadata={"description": "现在是否在征求意见期内"})
    summary_published_at = LocalDateTime(allow_none=True)


class ProjectProgressSchema(Schema):
    compound = ma.fields.String()
    year = Integer()
    title = ma.fields.String()
    current_step = ma.fields.Enum(StepKey, by_value=True, allow_none=True)
    steps = ma.fields.List(ma.fields.Nested(ProjectProgressStepSchema))
    photos = ma.fields.List(ma.fields.Nested(ProjectProgressPhotoSchema))
    funding = ma.fields.Nested(ProjectProgressFundingSchema)
    plan_consultation = ma.fields.Nested(
        ProjectProgressConsultationSchema,
        allow_none=True,
        metadata={"description": "设计方案征求意见（居民登录后查看、表态）；未发布为 null"},
    )


class ProjectProgressNoticeSchema(Schema):
    notice_id = Integer()
    title = ma.fields.String()
    body = ma.fields.String()


# District view --------------------------------------------------------------------------------


class OverviewQuerySchema(Schema):
    sort = ma.fields.String(
        load_default="compound",
        validate=ma.validate.OneOf(
            OVERVIEW_SORTS, error="sort 只能是：" + "、".join(OVERVIEW_SORTS)
        ),
        metadata={"description": "排序：" + " / ".join(OVERVIEW_SORTS)},
    )
    order = ma.fields.String(
        load_default="asc",
        validate=ma.validate.OneOf(["asc", "desc"], error="order 只能是 asc 或 desc"),
    )


class OverviewRowSchema(Schema):
    project_id = Integer()
    compound_id = Integer()
    compound = ma.fields.String()
    community = ma.fields.String()
    year = Integer()
    title = ma.fields.String()
    current_step = ma.fields.Enum(
        StepKey, by_value=True, allow_none=True, metadata={"description": "null：已全部完成"}
    )
    current_step_label = ma.fields.String()
    consent = ma.fields.Nested(
        CountRatioSchema, allow_none=True, metadata={"description": "同意人数 / 业主人数"}
    )
    menu_adopted = Integer(allow_none=True, metadata={"description": "菜单式征集纳入的项目数"})
    complaints_open = Integer()
    complaints_overdue = Integer()
    satisfaction = ma.fields.Nested(
        CountRatioSchema,
        allow_none=True,
        metadata={"description": "（满意+基本满意）/（满意+基本满意+不满意）"},
    )


# 绩效评估 ------------------------------------------------------------------------------------


class EvaluationStepSchema(Schema):
    step = ma.fields.Enum(StepKey, by_value=True)
    label = ma.fields.String()
    status = ma.fields.Enum(StepStatus, by_value=True)
    organisation = ma.fields.String()
    planned_start = ma.fields.Date(allow_none=True)
    planned_end = ma.fields.Date(allow_none=True)
    actual_start = ma.fields.Date(allow_none=True)
    actual_end = ma.fields.Date(allow_none=True)
    delay_days = Integer(
        allow_none=True, metadata={"description": "实际完成 − 计划完成（天），负数为提前"}
    )


class ComplaintFiguresSchema(Schema):
    complaints = Integer()
    suggestions = Integer()
    open = Integer(metadata={"description": "未办结"})
    overdue = Integer(metadata={"description": "逾期未受理或未办结"})
    handled = Integer(metadata={"description": "已办结（含已关闭）"})
    rated = Integer()
    average_rating = Amount(allow_none=True, metadata={"description": "平均评分（1–5）"})


class EvaluationSchema(Schema):
    project_id = Integer()
    compound = ma.fields.String()
    year = Integer()
    title = ma.fields.String()
    steps = ma.fields.List(ma.fields.Nested(EvaluationStepSchema))
    satisfaction = ma.fields.Nested(
        SatisfactionSchema,
        allow_none=True,
        metadata={"description": "最近关联的满意度问卷：分维度、分楼栋、分改造项目"},
    )
    complaints = ma.fields.Nested(ComplaintFiguresSchema)


# 档案管理 ------------------------------------------------------------------------------------


class ArchiveSchema(Schema):
    id = Integer()
    project_id = Integer()
    status = ma.fields.Enum(
        ArchiveStatus,
        by_value=True,
        metadata={"description": "queued 排队 / running 生成中 / done 完成 / failed 失败"},
    )
    done = Integer(metadata={"description": "已写入的文件数"})
    total = Integer(metadata={"description": "文件总数（含 manifest.json）"})
    size = Integer(allow_none=True, metadata={"description": "zip 文件的字节数"})
    sha256 = ma.fields.String(allow_none=True, metadata={"description": "zip 文件的 SHA-256"})
    error = ma.fields.String(allow_none=True)
    created_at = LocalDateTime()
    finished_at = LocalDateTime(allow_none=True)
