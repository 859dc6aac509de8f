"""Request and response schemas for votes."""

from __future__ import annotations

import marshmallow as ma
from flask import request, url_for
from flask_smorest.fields import Upload

from participation.auth.schemas import JOB_ID_DESCRIPTION, ReminderFieldsSchema
from participation.common.schemas import (
    Amount,
    ContactSchema,
    Integer,
    LocalDateTime,
    PatchSchema,
    Prepared,
    RatiosSchema,
    Schema,
)
from participation.roster.models import ProxyRule
from participation.votes.models import Channel, Choice, Matter, ProxyStatus, VoteStatus
from participation.votes.record import RECEIPT_PATTERN

# --- lifecycle and casting -----------------------------------------------------------------

STATUS_DESCRIPTION = (
    "draft 草稿 / open 进行中（opens_at 之前为尚未开始）/ closed 已截止 / published 公示中 / "
    "final 结果已确定 / cancelled 已取消；超过截止时间的表决显示为 closed"
)

OBJECTION_DAYS = (
    "公示期（异议期，天）：不少于所在区的最短异议期（districts.min_objection_days，默认 3 天），"
    "少于时 422 objection_days_too_short；不填则为 VOTE_OBJECTION_DAYS 与该最短期中较大者"
)

RECEIPT_DOC = {"pattern": RECEIPT_PATTERN, "example": "K7Q2MX4ZP3"}


class VoteInSchema(Schema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=20000))
    matter = ma.fields.Enum(
        Matter,
        by_value=True,
        required=True,
        metadata={"description": "表决事项（民法典第278条），决定计票规则；elevator 加装电梯"},
    )
    building_ids = ma.fields.List(
        Integer(),
        load_default=list,
        metadata={"description": "表决范围：楼栋；与 entrance_ids 均为空时为全小区"},
    )
    entrance_ids = ma.fields.List(Integer(), load_default=list)
    opens_at = LocalDateTime(required=True)
    closes_at = LocalDateTime(required=True, metadata={"description": "须晚于 opens_at 且在将来"})
    objection_days = Integer(
        validate=ma.validate.Range(min=0, max=90),
        metadata={"description": OBJECTION_DAYS},
    )
    no_cost_plan = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "声明本次表决不涉及居民出资（无费用方案）。加装电梯、楼栋或单元的改建"
            "表决开启前须有费用方案或此声明（否则开启时 409 cost_plan_missing）；已有费用方案时"
            "不能声明（422 no_cost_plan_with_plan），设置费用方案会清除此声明"
        },
    )
    no_cost_plan_reason = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(min=1, max=200, error="原因应为 1–200 字"),
        metadata={
            "description": "不涉及居民出资的原因，声明时必填（1–200 字，否则 422 "
            "no_cost_plan_reason_required）；记入表决开启事件"
        },
    )


class DeadlineInSchema(Schema):
    closes_at = LocalDateTime(
        required=True,
        metadata={
            "description": "新的截止时间（ISO 8601，带时区）：须晚于当前截止时间（否则 422 "
            "deadline_not_later），最晚为开始时间后 90 天（否则 422 deadline_too_late）"
        },
    )
    reason = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=200, error="原因应为 1–200 字"),
        metadata={"description": "延长的原因（1–200 字），告知居民并记入记录"},
    )


class DeadlineExtensionSchema(Schema):
    from_ = LocalDateTime(data_key="from", attribute="from", metadata={"description": "原截止时间"})
    to = LocalDateTime(metadata={"description": "新截止时间"})
    reason = ma.fields.String()
    at = LocalDateTime(metadata={"description": "延长的时间"})
    staff_id = Integer(allow_none=True)


class VotePatchSchema(VoteInSchema, PatchSchema):
    """Any of the draft's fields; the others stay."""

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class VoteQuerySchema(Schema):
    status = ma.fields.Enum(VoteStatus, by_value=True, metadata={"description": STATUS_DESCRIPTION})


class OpenVoteSchema(Schema):
    confirm_unknown_owners = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "true：确认范围内没有登记业主的房屋，仍然开启"},
    )


class AttachmentUploadSchema(Schema):
    """``multipart/form-data``: the file and its ``kind``."""

    file = Upload(required=True, metadata={"description": "PDF、JPEG 或 PNG，不超过 10 MB"})
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["plan", "cost_estimate", "other"]),
        metadata={"description": "plan 方案 / cost_estimate 费用预算 / other 其他"},
    )

    @ma.pre_load
    def _with_form_fields(self, data, **kwargs):
        # webargs reads the "files" location from request.files only (see the roster upload).
        return {**request.form.to_dict(), **data}


class AttachmentSchema(Schema):
    id = Integer()
    kind = ma.fields.String()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    sha256 = ma.fields.String()
    created_at = LocalDateTime()
    url = ma.fields.Function(
        lambda a: url_for("votes.VoteAttachmentFile", vote_id=a.vote_id, attachment_id=a.id)
    )


class CommonPartsOutcomeSchema(Schema):
    vote_id = Integer(allow_none=True, metadata={"description": "所关联的全小区共有部分表决"})
    title = ma.fields.String(allow_none=True)
    status = ma.fields.String(
        allow_none=True,
        metadata={"description": "当前状态：draft / open / closed / published / final / cancelled"},
    )
    passed = ma.fields.Boolean(
        allow_none=True,
        metadata={"description": "该表决是否通过（截止时计票）；取消视为未通过；未决为 null"},
    )


class DecisionSchema(Schema):
    """The vote's outcome. For an elevator vote that takes common parts (占用共有部分) it
    passes only if its own rule passes AND the linked compound-wide vote passed."""

    own_passed = ma.fields.Boolean(
        allow_none=True,
        metadata={"description": "本表决按自身规则是否通过（截止时计票）；未截止为 null"},
    )
    common_parts = ma.fields.Nested(
        CommonPartsOutcomeSchema,
        allow_none=True,
        metadata={"description": "占用共有部分时所关联的全小区表决及其结果；不占用为 null"},
    )
    passed = ma.fields.Boolean(
        allow_none=True,
        metadata={
            "description": "最终是否通过：自身通过且（占用共有部分时）关联表决也通过为 true；"
            "任一未通过为 false；尚未确定（本表决或关联表决未截止）为 null"
        },
    )


DECISION = {"description": "表决结果（含加装电梯所关联的共有部分表决），见 DecisionSchema"}


class VoteSchema(Schema):
    id = Integer()
    compound_id = Integer()
    title = ma.fields.String()
    description = ma.fields.String()
    matter = ma.fields.Enum(Matter, by_value=True)
    rule = ma.fields.String(metadata={"description": "civil_code_major / civil_code_ordinary"})
    status = ma.fields.Enum(VoteStatus, by_value=True, metadata={"description": STATUS_DESCRIPTION})
    accepting_casts = ma.fields.Boolean(metadata={"description": "此刻是否接受投票"})
    building_ids = ma.fields.List(Integer())
    entrance_ids = ma.fields.List(Integer())
    opens_at = LocalDateTime()
    closes_at = LocalDateTime()
    objection_days = Integer()
    proxy_rule = ma.fields.Enum(
        ProxyRule,
        by_value=True,
        metadata={
            "description": "同一业主多张选票以哪张为准（小区议事规则，开启时确定）：latest "
            "最后作出的一票 / owner_prevails 业主本人的一票优先于受托人"
        },
    )
    precedence = ma.fields.String(metadata={"description": "上述规则的文字说明"})
    takes_common_parts = ma.fields.Boolean(metadata={"description": "加装电梯是否占用共有部分"})
    common_parts_vote_id = Integer(
        allow_none=True, metadata={"description": "所关联的全小区共有部分表决（见费用方案）"}
    )
    decision = ma.fields.Nested(DecisionSchema, metadata=DECISION)
    attachments = ma.fields.List(
        ma.fields.Nested(AttachmentSchema), metadata={"description": "详情中：方案、预算等材料"}
    )
    # staff only
    t_cnt = Integer(allow_none=True, metadata={"description": "工作人员可见：开启时冻结的总人数"})
    t_area = Amount(allow_none=True, metadata={"description": "工作人员可见：总面积（m²）"})
    created_by_id = Integer(metadata={"description": "工作人员可见"})
    created_at = LocalDateTime(metadata={"description": "工作人员可见"})
    opened_at = LocalDateTime(allow_none=True, metadata={"description": "工作人员可见"})
    closed_at = LocalDateTime(allow_none=True, metadata={"description": "工作人员可见"})
    no_cost_plan = ma.fields.Boolean(
        metadata={"description": "工作人员可见：已声明本次表决不涉及居民出资"}
    )
    no_cost_plan_reason = ma.fields.String(
        allow_none=True, metadata={"description": "工作人员可见：不涉及居民出资的原因"}
    )
    deadline_extensions = ma.fields.List(
        ma.fields.Nested(DeadlineExtensionSchema),
        metadata={"description": "工作人员可见（详情）：截止时间的延长记录，先后为序"},
    )


class VoteOpenedSchema(VoteSchema):
    unknown_owners = Integer(metadata={"description": "范围内没有登记业主的户数"})
    unknown_dwellings = ma.fields.List(ma.fields.String(), metadata={"example": ["1栋1单元102"]})


class MyVoteSchema(VoteSchema):
    eligible = ma.fields.Boolean(metadata={"description": "是否为本表决范围内的业主"})
    can_vote = ma.fields.Boolean(metadata={"description": "此刻可以投票"})
    has_voted = ma.fields.Boolean(metadata={"description": "已有计入的一票（含委托、纸质票）"})


class CastInSchema(Schema):
    choice = ma.fields.Enum(
        Choice,
        by_value=True,
        required=True,
        error_messages={
            "required": "请选择同意、不同意或弃权",
            "unknown": "选项应为 agree（同意）、disagree（不同意）或 abstain（弃权）",
        },
        metadata={"description": "agree 同意 / disagree 不同意 / abstain 弃权"},
    )
    person_id = Integer(
        metadata={"description": "为哪一份表决权投票；只有一份时可省略（见 my-ballots）"}
    )


class CastSchema(Schema):
    """The answer to every kind of cast."""

    receipt = ma.fields.String(
        attribute="result.receipt",
        metadata={"description": "回执码：可在公开页面核验是否计入", **RECEIPT_DOC},
    )
    choice = ma.fields.Enum(Choice, by_value=True, attribute="result.choice")
    cast_at = LocalDateTime(attribute="result.cast_at")
    replaced = ma.fields.Boolean(
        metadata={"description": "true：替换了此前的一票（以最后一次为准）"}
    )
    replayed = ma.fields.Boolean(
        attribute="result.replayed",
        metadata={"description": "true：同一 Idempotency-Key 的重复请求，未再次投票"},
    )
    person_id = Integer()
    dwellings = ma.fields.String(metadata={"example": "2栋1单元101"})
    channel = ma.fields.Enum(Channel, by_value=True)


class MyBallotSchema(Schema):
    person_id = Integer()
    dwellings = ma.fields.String(metadata={"example": "2栋1单元101"})
    choice = ma.fields.Enum(
        Choice, by_value=True, allow_none=True, metadata={"description": "null：尚未投票"}
    )
    channel = ma.fields.Enum(
        Channel, by_value=True, allow_none=True, metadata={"description": "online / proxy / paper"}
    )
    cast_at = LocalDateTime(allow_none=True)
    receipt = ma.fields.String(allow_none=True, metadata=RECEIPT_DOC)


# --- proxies and paper ballots (proxies.py, paper.py) ---


class ProxyGrantSchema(Schema):
    person_id = Integer(metadata={"description": "为哪一份表决权委托；只有一份时可省略"})
    proxy_phone = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^1\d{10}$", error="手机号应为11位大陆手机号码"),
        metadata={"description": "受托人的手机号：对方须已用该手机号登录过本平台"},
    )


class ProxySchema(Schema):
    id = Integer()
    vote_id = Integer()
    vote_title = ma.fields.String()
    closes_at = LocalDateTime()
    person_id = Integer()
    dwellings = ma.fields.String(metadata={"example": "2栋1单元101"})
    owner_name = ma.fields.String(metadata={"description": "委托人；本小区业委会以外脱敏"})
    proxy_phone = ma.fields.String(metadata={"description": "受托人手机号；本小区业委会以外脱敏"})
    status = ma.fields.Enum(
        ProxyStatus,
        by_value=True,
        metadata={
            "description": "pending 待确认 / confirmed 已确认 / rejected 未通过 / revoked 已撤销"
        },
    )
    relation = ma.fields.String(
        allow_none=True,
        metadata={"description": "居民：granted 我委托的 / held 委托给我的；工作人员为 null"},
    )
    created_at = LocalDateTime()
    decided_at = LocalDateTime(allow_none=True)


class ProxyBallotSchema(CastInSchema):
    """The choice; the person is the proxy's."""

    class Meta(Schema.Meta):
        exclude = ("person_id",)


class PaperBallotUploadSchema(CastInSchema):
    """``multipart/form-data``: whose ballot (``dwelling`` or ``person_id``), the choice and
    the photo of the signed paper ballot."""

    dwelling = ma.fields.String(metadata={"description": "房号，如 2栋1单元101"})
    person_id = Integer(metadata={"description": "或：表决权人编号"})
    signed_at = LocalDateTime(
        required=True,
        error_messages={"required": "请填写业主在纸质票上签署的日期和时间"},
        metadata={
            "description": "业主签署的时间（纸质票上所写）：须在表决开始之后、截止之前，"
            "且不晚于现在；同一业主的多张选票以签署或投票时间最晚的一张为准"
        },
    )
    photo = Upload(
        required=True,
        error_messages={"required": "请上传签字纸质票的照片"},
        metadata={"description": "签字纸质票的照片：JPEG、PNG 或 PDF，不超过 10 MB"},
    )

    @ma.pre_load
    def _with_form_fields(self, data, **kwargs):
        # webargs reads the "files" location from request.files only (see the roster upload).
        return {**request.form.to_dict(), **data}


class PaperBallotSchema(Schema):
    id = Integer()
    person_id = Integer()
    dwellings = ma.fields.String()
    owner_names = ma.fields.String(metadata={"description": "脱敏", "example": "张*"})
    choice = ma.fields.Enum(Choice, by_value=True)
    signed_at = LocalDateTime(metadata={"description": "业主签署的时间"})
    entered_at = LocalDateTime(metadata={"description": "录入的时间"})
    receipt = ma.fields.String(metadata=RECEIPT_DOC)
    entered_by = ma.fields.String(metadata={"description": "录入的工作人员"})
    objection_id = Integer(
        allow_none=True, metadata={"description": "公示后更正录入时，所依据的成立异议"}
    )
    counts = ma.fields.Boolean(metadata={"description": "是否为该表决权人当前计入的一票"})
    photo_sha256 = ma.fields.String(attribute="photo.sha256")
    photo_type = ma.fields.String(attribute="photo.content_type")
    photo_url = ma.fields.Function(
        lambda item: url_for(
            "votes.VoteAttachmentFile",
            vote_id=item["photo"].vote_id,
            attachment_id=item["photo"].id,
        )
    )


class ConflictCastSchema(Schema):
    id = Integer()
    channel = ma.fields.Enum(
        Channel, by_value=True, metadata={"description": "online 线上 / proxy 委托 / paper 纸质"}
    )
    choice = ma.fields.Enum(Choice, by_value=True)
    made_at = LocalDateTime(
        metadata={"description": "投票的时间：纸质票为业主签署的时间，其他为投出的时间"}
    )
    entered_at = LocalDateTime(metadata={"description": "记录的时间（纸质票为录入的时间）"})
    voided = ma.fields.Boolean(metadata={"description": "已因异议成立被作废"})
    counts = ma.fields.Boolean(
        metadata={
            "description": "计入的一票：截止前最后作出、未被作废的一票（按议事规则，"
            "业主本人投票优先于受托人时，本人的一票）"
        }
    )


class ConflictSchema(Schema):
    person_id = Integer()
    dwellings = ma.fields.String()
    owner_names = ma.fields.String(metadata={"description": "脱敏"})
    casts = ma.fields.List(ma.fields.Nested(ConflictCastSchema))


# --- tally and results ---------------------------------------------------------------------


class OptionFiguresSchema(Schema):
    choice = ma.fields.String(metadata={"enum": [c.value for c in Choice]})
    count = Integer()
    area = Amount()


class FiguresSchema(Schema):
    """T (electorate), P (cast a ballot: agree, disagree or abstain), Y (agree)."""

    t_cnt = Integer(metadata={"description": "总人数"})
    t_area = Amount(metadata={"description": "总面积（m²）"})
    p_cnt = Integer(metadata={"description": "参与表决人数（弃权也算参与）"})
    p_area = Amount()
    y_cnt = Integer(metadata={"description": "同意人数"})
    y_area = Amount()
    options = ma.fields.List(ma.fields.Nested(OptionFiguresSchema))
    participation = ma.fields.Nested(RatiosSchema, metadata={"description": "参与率 P/T"})
    agreement = ma.fields.Nested(RatiosSchema, metadata={"description": "同意率 Y/P"})


class ShortfallSchema(Schema):
    persons = Integer()
    area = Amount()


class MissingSchema(Schema):
    participation = ma.fields.Nested(
        ShortfallSchema, metadata={"description": "还需多少人 / m² 参与才达到法定参与要求"}
    )
    agreement = ma.fields.Nested(
        ShortfallSchema,
        metadata={"description": "还需多少同意票（人 / m²，来自未投票者）才能通过，含参与要求"},
    )


class EntranceFiguresSchema(FiguresSchema):
    entrance_id = Integer()
    name = ma.fields.String(metadata={"example": "2栋1单元"})


class BuildingFiguresSchema(FiguresSchema):
    building_id = Integer()
    name = ma.fields.String(metadata={"example": "2栋"})
    entrances = ma.fields.List(ma.fields.Nested(EntranceFiguresSchema))


class ResultSchema(FiguresSchema):
    """The whole scope's figures and the rule's outcome (the stored result without its
    breakdown)."""

    rule = ma.fields.String(metadata={"description": "civil_code_major / civil_code_ordinary"})
    quorum_met = ma.fields.Boolean(metadata={"description": "人数和面积均达到 2/3 参与"})
    approved = ma.fields.Boolean(metadata={"description": "同意达到规则要求（3/4 或过半数）"})
    passed = ma.fields.Boolean()
    missing = ma.fields.Nested(MissingSchema)
    computed_at = ma.fields.String(
        metadata={"format": "date-time", "description": "计票时间（北京时间）"}
    )


class TallySchema(ResultSchema):
    vote_id = Integer()
    status = ma.fields.String(
        metadata={"enum": [s.value for s in VoteStatus], "description": STATUS_DESCRIPTION}
    )
    buildings = Prepared(
        BuildingFiguresSchema,
        many=True,
        metadata={
            "description": "分楼栋、单元统计：在多个楼栋（单元）有房屋的业主在每个楼栋（单元）"
            "各计一人，面积为其在该处的房屋面积之和"
        },
    )
    decision = ma.fields.Nested(
        DecisionSchema,
        metadata={
            "description": "passed 是本表决自身规则的结果；decision.passed 是最终结果"
            "（加装电梯占用共有部分时还须关联表决通过）"
        },
    )


class ProgressSchema(Schema):
    vote_id = Integer()
    status = ma.fields.String(
        metadata={"enum": [s.value for s in VoteStatus], "description": STATUS_DESCRIPTION}
    )
    opens_at = LocalDateTime()
    closes_at = LocalDateTime()
    t_cnt = Integer()
    t_area = Amount()
    p_cnt = Integer()
    p_area = Amount()
    participation = ma.fields.Nested(RatiosSchema, metadata={"description": "参与率 P/T"})
    result = ma.fields.Nested(
        ResultSchema, allow_none=True, metadata={"description": "表决截止后的结果；之前为 null"}
    )
    decision = ma.fields.Nested(
        DecisionSchema,
        allow_none=True,
        metadata={
            "description": "表决截止后的最终结果（含加装电梯所关联的共有部分表决）；之前为 null"
        },
    )


class NonVoterQuerySchema(Schema):
    building_id = Integer(metadata={"description": "在该楼栋有房屋的业主"})
    entrance_id = Integer(metadata={"description": "在该单元有房屋的业主"})


class NonVoterSchema(Schema):
    person_id = Integer()
    rooms = ma.fields.List(ma.fields.String(), metadata={"example": ["2栋1单元202"]})
    developer = ma.fields.Boolean(metadata={"description": "开发建设单位（未售、未交付房屋）"})
    owners = ma.fields.List(
        ma.fields.Nested(ContactSchema),
        metadata={"description": "本小区业委会可见完整姓名和手机号（便于联系），其他工作人员脱敏"},
    )
    area = Amount()


class DoorToDoorQuerySchema(Schema):
    building_id = Integer(metadata={"description": "只看该楼栋的单元"})
    entrance_id = Integer(metadata={"description": "只看该单元"})


class DoorToDoorHouseholdSchema(Schema):
    dwelling_id = Integer()
    person_id = Integer()
    room = ma.fields.String(metadata={"example": "101"})
    label = ma.fields.String(metadata={"example": "2栋1单元101"})
    floor = Integer()
    area = Amount(metadata={"description": "该户专有部分面积（m²）"})
    developer = ma.fields.Boolean(metadata={"description": "开发建设单位（未售、未交付房屋）"})
    owners = ma.fields.List(
        ma.fields.Nested(ContactSchema),
        metadata={"description": "本小区业委会可见完整姓名和手机号（便于联系），其他工作人员脱敏"},
    )
    reminded_today = ma.fields.Boolean(
        metadata={"description": "今天（北京时间）已给该户业主的手机发过提醒短信"}
    )


class DoorToDoorEntranceSchema(Schema):
    building_id = Integer()
    entrance_id = Integer()
    building = ma.fields.String(metadata={"example": "2栋"})
    entrance = ma.fields.String(metadata={"example": "1单元"})
    name = ma.fields.String(metadata={"example": "2栋1单元"})
    t_cnt = Integer(metadata={"description": "该单元的表决人数（跨单元的业主在每个单元各计一次）"})
    t_area = Amount()
    voted_cnt = Integer(metadata={"description": "已参与（同意、不同意、弃权、纸质票）的人数"})
    voted_area = Amount()
    missing_cnt = Integer(metadata={"description": "尚未参与的人数"})
    missing_area = Amount()
    households = ma.fields.List(
        ma.fields.Nested(DoorToDoorHouseholdSchema),
        metadata={"description": "尚未参与的住户，按楼层、房号排序"},
    )


# --- verifiable record ---------------------------------------------------------------------


class ChainPositionSchema(Schema):
    seq = Integer(required=True, metadata={"description": "position, from 1"})
    parent_hash = ma.fields.String(required=True, metadata={"description": "hash of seq − 1"})
    hash = ma.fields.String(
        required=True,
        metadata={"description": 'SHA-256 of "<parent_hash>|<seq>|<digest>" (hex)'},
    )


class ReceiptStatusSchema(Schema):
    vote_id = Integer(required=True)
    receipt = ma.fields.String(required=True, metadata=RECEIPT_DOC)
    included = ma.fields.Boolean(
        required=True, metadata={"description": "the ballot is in the vote's record"}
    )
    sealing = ma.fields.String(
        required=True,
        metadata={"description": "sealed: in the chain; pending: recorded, not sealed yet"},
    )
    digest = ma.fields.String(required=True, metadata={"description": "the ballot's digest"})
    entry = ma.fields.Nested(
        ChainPositionSchema, allow_none=True, metadata={"description": "its chain entry"}
    )
    replaced = ma.fields.Boolean(
        required=True, metadata={"description": "a later ballot was made for the same owner"}
    )
    counted = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "this is the ballot that counts (the latest made before closing, "
            "not voided; where the compound's rules say so, the owner's own over a proxy's)"
        },
    )
    voided = ma.fields.Boolean(
        required=True,
        metadata={"description": "voided by the committee after an upheld objection (作废)"},
    )
    void_reason = ma.fields.String(allow_none=True, metadata={"description": "作废的理由"})
    head = ma.fields.Nested(
        ChainPositionSchema, allow_none=True, metadata={"description": "the chain's last entry"}
    )


# --- elevator cost plan --------------------------------------------------------------------


class CostPlanInSchema(Schema):
    total_cost = Amount(
        required=True,
        validate=ma.validate.Range(min=0, max=999_999_999_999, error="总费用应在 0 到 1 万亿元"),
        metadata={"description": "总费用（元）", "example": "600000.00"},
    )
    subsidy = Amount(
        required=True,
        validate=ma.validate.Range(min=0, error="补贴不能为负数"),
        metadata={"description": "财政补贴等（元），不超过总费用", "example": "200000.00"},
    )
    floor_coefficients = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(),
        load_default=None,
        allow_none=True,
        metadata={
            "description": "楼层分摊系数：每个楼层一个，小数字符串，≥ 0（一楼通常为 0）。"
            "不填则按专有部分面积分摊（民法典第二百八十三条）",
            "example": {"1": "0", "2": "0.5", "3": "0.8", "4": "1", "5": "1.2", "6": "1.4"},
        },
    )
    takes_common_parts = ma.fields.Boolean(
        required=True, metadata={"description": "电梯是否占用小区共有部分"}
    )
    common_parts_vote_id = Integer(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "占用共有部分时需要的全小区表决：同一小区、范围为全小区、未取消、"
            "未失败，事项为 change_common_use、rebuild 或 other；可以先不填，但开启前必须关联，"
            "且该表决须已开启（进行中、已截止、公示中或已确定）"
        },
    )


class LinkedVoteSchema(Schema):
    id = Integer()
    title = ma.fields.String()
    status = ma.fields.String(
        metadata={"description": "draft / open / closed / published / final / cancelled"}
    )
    passed = ma.fields.Boolean(
        allow_none=True,
        metadata={"description": "该表决是否通过；取消视为未通过；尚未截止为 null"},
    )


class DwellingShareSchema(Schema):
    dwelling_id = Integer()
    label = ma.fields.String(metadata={"example": "2栋1单元601"})
    floor = Integer()
    area = Amount(metadata={"description": "专有部分面积（m²）"})
    coefficient = ma.fields.String(
        allow_none=True, metadata={"description": "楼层系数；按面积分摊时为 null"}
    )
    share = Amount(metadata={"description": "应分摊金额（元），精确到分"})


class CostPlanSchema(Schema):
    vote_id = Integer()
    total_cost = Amount(allow_none=True)
    subsidy = Amount(allow_none=True)
    residents_share = Amount(
        allow_none=True, metadata={"description": "业主分摊总额 = 总费用 − 补贴"}
    )
    basis = ma.fields.String(
        allow_none=True,
        metadata={"description": "floor_coefficients 按楼层系数 × 面积 / area 按面积；无方案 null"},
    )
    floor_coefficients = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.String(), allow_none=True
    )
    takes_common_parts = ma.fields.Boolean()
    common_parts_vote = ma.fields.Nested(LinkedVoteSchema, allow_none=True)
    decision = ma.fields.Nested(
        DecisionSchema,
        metadata={"description": "两项结果并列：本表决自身结果、共有部分表决结果，及最终结果"},
    )


class StaffCostPlanSchema(CostPlanSchema):
    shares = ma.fields.List(
        ma.fields.Nested(DwellingShareSchema),
        allow_none=True,
        metadata={
            "description": "每户的分摊额：开启后按冻结的表决范围；草稿时按当前名册预览"
            "（preview 为 true）；无费用方案时为 null"
        },
    )
    shares_total = Amount(
        allow_none=True, metadata={"description": "各户分摊额之和，恒等于业主分摊总额"}
    )
    preview = ma.fields.Boolean(
        metadata={
            "description": "true：草稿的预览，按当前房屋名册计算（开启时冻结表决范围后即为"
            "正式分摊额，名册未变则相同）；false：开启时冻结的表决范围"
        }
    )
    no_cost_plan = ma.fields.Boolean(metadata={"description": "已声明本次表决不涉及居民出资"})
    no_cost_plan_reason = ma.fields.String(allow_none=True)


class MyShareSchema(CostPlanSchema):
    dwellings = ma.fields.List(
        ma.fields.Nested(DwellingShareSchema),
        metadata={"description": "本人在该表决范围内的房屋及应分摊金额"},
    )


class ReminderSchema(ReminderFieldsSchema):
    vote_id = Integer()


class ReminderStartedSchema(Schema):
    reminder = ma.fields.Nested(ReminderSchema)
    job_id = ma.fields.String(allow_none=True, metadata={"description": JOB_ID_DESCRIPTION})
