"""Request and response schemas for surveys."""

from __future__ import annotations

from decimal import Decimal

import marshmallow as ma

from participation.auth.schemas import JOB_ID_DESCRIPTION, ReminderFieldsSchema
from participation.common.schemas import (
    Amount,
    ContactSchema,
    CountRatioSchema,
    Integer,
    LocalDateTime,
    PatchSchema,
    PlainDecimal,
    RatiosSchema,
    Schema,
)
from participation.counting import Basis
from participation.surveys.menu import TIER_LABELS
from participation.surveys.models import QuestionType, RespondentBasis, SurveyKind, SurveyStatus

# --- questionnaires and answers ------------------------------------------------------------

KIND_DESCRIPTION = (
    "consent 意愿征集 / menu 菜单式改造内容 / satisfaction 效果评价（满意度）/ general 一般问卷"
)
SURVEY_STATUS_DESCRIPTION = (
    "draft 草稿 / open 进行中（opens_at 之前为尚未开始）/ closed 已截止 / published 公示中 / "
    "final 结果已确定 / cancelled 已取消；超过截止时间的问卷显示为 closed"
)
QUESTION_TYPE_DESCRIPTION = (
    "single 单选（≥2 个选项）/ multiple 多选（min_choices–max_choices）/ rating 评分"
    "（scale_min–scale_max，默认 1–5）/ text 文字 / consent 同意题（同意、不同意，自动生成）/ "
    "menu 菜单题（选项为本问卷菜单中的改造项目）/ satisfaction 满意度题（满意、基本满意、"
    "不满意、不了解，自动生成）"
)


class OptionInSchema(Schema):
    label = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    value = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(min=1, max=32),
        metadata={"description": "选项代码，如 agree / satisfied / direct"},
    )


class QuestionInSchema(Schema):
    type = ma.fields.Enum(
        QuestionType,
        by_value=True,
        required=True,
        metadata={"description": QUESTION_TYPE_DESCRIPTION},
    )
    text = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))
    required = ma.fields.Boolean(metadata={"description": "必答题，默认 true"})
    min_choices = Integer(allow_none=True, metadata={"description": "多选：默认 1"})
    max_choices = Integer(allow_none=True, metadata={"description": "多选：默认选项数"})
    scale_min = Integer(allow_none=True, metadata={"description": "评分：默认 1"})
    scale_max = Integer(allow_none=True, metadata={"description": "评分：默认 5"})
    dimension = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "满意度：评价维度，如 工程质量；默认为题目"},
    )
    menu_item_id = Integer(
        allow_none=True, metadata={"description": "满意度：所评价的改造项目（目录 id）"}
    )
    options = ma.fields.List(
        ma.fields.Nested(OptionInSchema),
        validate=ma.validate.Length(max=100),
        metadata={"description": "单选、多选必填；同意题、满意度题可省略；菜单题不填"},
    )


class SurveyFieldsSchema(Schema):
    """A survey's own fields; those left out take their defaults (by kind)."""

    title = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    description = ma.fields.String(validate=ma.validate.Length(max=20000))
    basis = ma.fields.Enum(
        RespondentBasis,
        by_value=True,
        metadata={
            "description": "owner 按业主（一人一份，按表决规则计人数和面积）/ resident 按住户"
            "（含租户，一个账号一份）；默认：意愿征集和菜单为 owner，其余为 resident"
        },
    )
    anonymous = ma.fields.Boolean(metadata={"description": "匿名作答，默认 false；意愿征集须实名"})
    building_ids = ma.fields.List(
        Integer(),
        metadata={"description": "范围：楼栋；与 entrance_ids 均为空时为全小区"},
    )
    entrance_ids = ma.fields.List(Integer())
    opens_at = LocalDateTime()
    closes_at = LocalDateTime(metadata={"description": "须晚于 opens_at 且在将来"})
    consent_basis = ma.fields.Enum(
        Basis,
        by_value=True,
        metadata={"description": "意愿征集 2/3 门槛按 count 人数 / area 面积 / both 两者"},
    )
    objection_days = Integer(
        validate=ma.validate.Range(min=0, max=90),
        metadata={
            "description": "公示期（异议期，天）：不少于所在区的最短异议期"
            "（districts.min_objection_days，默认 3 天），少于时 422 objection_days_too_short；"
            "不填则为 VOTE_OBJECTION_DAYS 与该最短期中较大者"
        },
    )
    menu_min_items = Integer(
        allow_none=True,
        validate=ma.validate.Range(min=1),
        metadata={"description": "菜单：至少选几项"},
    )
    menu_max_items = Integer(
        allow_none=True,
        validate=ma.validate.Range(min=1),
        metadata={"description": "菜单：至多选几项"},
    )
    budget_cap = Amount(
        allow_none=True,
        validate=ma.validate.Range(min=0),
        metadata={"description": "菜单：预算上限（元）"},
    )
    adoption_numerator = Integer(
        validate=ma.validate.Range(min=1),
        metadata={"description": "菜单：完善类、提升类的采纳门槛 numerator/denominator，默认 1/2"},
    )
    adoption_denominator = Integer(validate=ma.validate.Range(min=1))
    adoption_strict = ma.fields.Boolean(
        metadata={"description": "true（默认）：须超过门槛（过半数）；false：达到即可"}
    )
    satisfaction_threshold = Amount(
        allow_none=True,
        validate=ma.validate.Range(min=0, max=100),
        metadata={"description": "满意度：达标线（%）"},
    )


class SurveyInSchema(SurveyFieldsSchema):
    kind = ma.fields.Enum(
        SurveyKind, by_value=True, required=True, metadata={"description": KIND_DESCRIPTION}
    )
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    opens_at = LocalDateTime(required=True)
    closes_at = LocalDateTime(required=True, metadata={"description": "须晚于 opens_at 且在将来"})
    questions = ma.fields.List(
        ma.fields.Nested(QuestionInSchema),
        validate=ma.validate.Length(max=200),
        metadata={
            "description": "意愿征集须有且只有一道同意题；"
            "菜单式最多一道菜单题（设置菜单时自动添加）"
        },
    )


class SurveyPatchSchema(SurveyInSchema, PatchSchema):
    """Any of the draft's fields; ``questions``, when given, replace all of them."""

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class FromTemplateSchema(SurveyFieldsSchema):
    template = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(
            ["consent", "menu", "satisfaction"], error="模板只能是 consent、menu 或 satisfaction"
        ),
        metadata={"description": "consent 意愿征集 / menu 菜单式 / satisfaction 满意度评价"},
    )
    opens_at = LocalDateTime(required=True)
    closes_at = LocalDateTime(required=True, metadata={"description": "须晚于 opens_at 且在将来"})


class SurveyQuerySchema(Schema):
    kind = ma.fields.Enum(SurveyKind, by_value=True, metadata={"description": KIND_DESCRIPTION})
    status = ma.fields.Enum(
        SurveyStatus, by_value=True, metadata={"description": SURVEY_STATUS_DESCRIPTION}
    )


class OpenSurveySchema(Schema):
    confirm_unknown_owners = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "true：确认范围内没有登记业主的房屋，仍然开启（按业主作答时）"},
    )


class OptionSchema(Schema):
    id = Integer()
    position = Integer()
    label = ma.fields.String()
    value = ma.fields.String(allow_none=True)
    survey_menu_item_id = Integer(allow_none=True, metadata={"description": "菜单题：对应的菜单项"})


class QuestionSchema(Schema):
    id = Integer()
    position = Integer()
    type = ma.fields.Enum(
        QuestionType, by_value=True, metadata={"description": QUESTION_TYPE_DESCRIPTION}
    )
    text = ma.fields.String()
    required = ma.fields.Boolean()
    min_choices = Integer(allow_none=True)
    max_choices = Integer(allow_none=True)
    scale_min = Integer(allow_none=True)
    scale_max = Integer(allow_none=True)
    dimension = ma.fields.String(allow_none=True)
    menu_item_id = Integer(allow_none=True)
    options = ma.fields.List(ma.fields.Nested(OptionSchema))


class SurveySchema(Schema):
    id = Integer()
    compound_id = Integer()
    kind = ma.fields.Enum(SurveyKind, by_value=True, metadata={"description": KIND_DESCRIPTION})
    title = ma.fields.String()
    description = ma.fields.String()
    basis = ma.fields.Enum(RespondentBasis, by_value=True)
    anonymous = ma.fields.Boolean()
    status = ma.fields.Enum(
        SurveyStatus, by_value=True, metadata={"description": SURVEY_STATUS_DESCRIPTION}
    )
    accepting_responses = ma.fields.Boolean(metadata={"description": "此刻是否接受作答"})
    building_ids = ma.fields.List(Integer())
    entrance_ids = ma.fields.List(Integer())
    opens_at = LocalDateTime()
    closes_at = LocalDateTime()
    consent_basis = ma.fields.Enum(Basis, by_value=True)
    objection_days = Integer()
    menu_min_items = Integer(allow_none=True)
    menu_max_items = Integer(allow_none=True)
    budget_cap = Amount(allow_none=True)
    adoption_numerator = Integer()
    adoption_denominator = Integer()
    adoption_strict = ma.fields.Boolean()
    satisfaction_threshold = Amount(allow_none=True)
    questions = ma.fields.List(
        ma.fields.Nested(QuestionSchema), metadata={"description": "详情中：题目及选项"}
    )
    details = ma.fields.Dict(
        metadata={"description": "详情中，按问卷类型：如菜单式问卷的改造项目及本户应出资"}
    )
    # staff only
    t_cnt = Integer(
        allow_none=True, metadata={"description": "工作人员可见：按业主作答时开启时冻结的总人数"}
    )
    t_area = Amount(allow_none=True, metadata={"description": "工作人员可见：总面积（m²）"})
    created_by_id = Integer(metadata={"description": "工作人员可见"})
    created_at = LocalDateTime(metadata={"description": "工作人员可见"})
    opened_at = LocalDateTime(allow_none=True, metadata={"description": "工作人员可见"})
    closed_at = LocalDateTime(allow_none=True, metadata={"description": "工作人员可见"})
    responses = Integer(metadata={"description": "工作人员可见（详情）：已作答份数"})
    deadline_extensions = ma.fields.List(
        ma.fields.Nested(lambda: SurveyDeadlineChangeSchema()),
        metadata={"description": "工作人员可见（详情）：截止时间的延长记录，先后为序"},
    )


class SurveyOpenedSchema(SurveySchema):
    unknown_owners = Integer(metadata={"description": "范围内没有登记业主的户数"})
    unknown_dwellings = ma.fields.List(ma.fields.String(), metadata={"example": ["1栋1单元102"]})


class TemplateOptionSchema(Schema):
    label = ma.fields.String()
    value = ma.fields.String(allow_none=True)


class TemplateQuestionSchema(QuestionSchema):
    class Meta(Schema.Meta):
        exclude = ("id",)

    options = ma.fields.List(ma.fields.Nested(TemplateOptionSchema))


class TemplateSchema(Schema):
    template = ma.fields.String(metadata={"enum": ["consent", "menu", "satisfaction"]})
    kind = ma.fields.Enum(SurveyKind, by_value=True)
    title = ma.fields.String()
    description = ma.fields.String()
    basis = ma.fields.Enum(RespondentBasis, by_value=True)
    anonymous = ma.fields.Boolean()
    questions = ma.fields.List(ma.fields.Nested(TemplateQuestionSchema))


class MySurveySchema(SurveySchema):
    eligible = ma.fields.Boolean(metadata={"description": "是否在本问卷的作答范围内"})
    can_answer = ma.fields.Boolean(metadata={"description": "此刻可以作答"})
    answered = ma.fields.Boolean(
        metadata={"description": "已作答（截止前可再次作答，以最后一次为准）"}
    )


class AnswerInSchema(Schema):
    question_id = Integer(required=True)
    option_ids = ma.fields.List(
        Integer(), allow_none=True, metadata={"description": "选择题：所选选项"}
    )
    rating = Integer(allow_none=True, metadata={"description": "评分题"})
    text = ma.fields.String(allow_none=True, metadata={"description": "文字题：不超过 1000 字"})


class ResponseInSchema(Schema):
    person_id = Integer(
        metadata={"description": "按业主作答：为哪一份业主身份作答；只有一份时可省略"}
    )
    dwelling_id = Integer(
        metadata={"description": "按住户作答：按哪一处房屋作答；只有一处时可省略"}
    )
    answers = ma.fields.List(
        ma.fields.Nested(AnswerInSchema),
        required=True,
        validate=ma.validate.Length(max=200),
        metadata={"description": "每题一条；未答的非必答题可省略"},
    )


class AnswerSchema(Schema):
    question_id = Integer()
    option_ids = ma.fields.List(Integer())
    rating = Integer(allow_none=True)
    text = ma.fields.String(allow_none=True)


class SubmittedSchema(Schema):
    person_id = Integer(allow_none=True, metadata={"description": "按业主作答时"})
    dwellings = ma.fields.String(metadata={"example": "2栋1单元101"})
    revision = Integer(metadata={"description": "第几次作答（再次作答替换此前答案）"})
    replaced = ma.fields.Boolean(metadata={"description": "true：替换了此前的答案"})
    replayed = ma.fields.Boolean(
        metadata={"description": "true：同一 Idempotency-Key 的重复请求，未再次提交"}
    )
    submitted_at = LocalDateTime()
    answers = ma.fields.List(ma.fields.Nested(AnswerSchema))


class DwellingChoiceSchema(Schema):
    dwelling_id = Integer()
    dwellings = ma.fields.String(metadata={"example": "2栋1单元101"})


class MyResponseSchema(Schema):
    person_id = Integer(allow_none=True, metadata={"description": "按业主作答时"})
    dwellings = ma.fields.String(metadata={"example": "2栋1单元101"})
    answered = ma.fields.Boolean()
    revision = Integer(allow_none=True)
    submitted_at = LocalDateTime(allow_none=True)
    answers = ma.fields.List(ma.fields.Nested(AnswerSchema))
    dwelling_choices = ma.fields.List(
        ma.fields.Nested(DwellingChoiceSchema),
        metadata={
            "description": "按居民作答且本人在范围内有多处房屋时：可选的房屋，作答时以 "
            "dwelling_id 指明；否则为空"
        },
    )


# --- consent gate --------------------------------------------------------------------------


class ConsentAnswerSchema(Schema):
    value = ma.fields.String(metadata={"enum": ["agree", "disagree"]})
    count = Integer()
    area = Amount()


class ConsentFiguresSchema(Schema):
    """T (electorate), P (answered the consent question: 同意 or 不同意), Y (同意)."""

    t_cnt = Integer(metadata={"description": "总人数（冻结的业主名册）"})
    t_area = Amount(metadata={"description": "总面积（m²）"})
    p_cnt = Integer(metadata={"description": "已作答人数（同意和不同意都算参与）"})
    p_area = Amount()
    y_cnt = Integer(metadata={"description": "同意人数"})
    y_area = Amount()
    answers = ma.fields.List(ma.fields.Nested(ConsentAnswerSchema))
    participation = ma.fields.Nested(RatiosSchema, metadata={"description": "参与率 P/T"})
    consent = ma.fields.Nested(RatiosSchema, metadata={"description": "同意率 Y/T（门槛 2/3）"})


class ConsentMissingSchema(Schema):
    persons = Integer(metadata={"description": "还需多少人同意（按人数计时）"})
    area = Amount(metadata={"description": "还需多少 m² 同意（按面积计时）"})
    text = ma.fields.String(metadata={"example": "还需 1 人同意"})


class ConsentGateSchema(ConsentFiguresSchema):
    basis = ma.fields.String(metadata={"enum": ["count", "area", "both"]})
    passed = ma.fields.Boolean(metadata={"description": "同意达到 2/3（按 basis）"})
    missing = ma.fields.Nested(ConsentMissingSchema)


class ConsentBuildingSchema(ConsentFiguresSchema):
    building_id = Integer()
    name = ma.fields.String(metadata={"example": "1栋"})


class ChoiceShareSchema(Schema):
    value = ma.fields.String(allow_none=True)
    label = ma.fields.String()
    count = Integer()
    area = Amount()
    share = ma.fields.Nested(CountRatioSchema, metadata={"description": "占该题作答人数"})


class DistributionSchema(Schema):
    question_id = Integer()
    text = ma.fields.String()
    respondents = Integer()
    options = ma.fields.List(ma.fields.Nested(ChoiceShareSchema))


class ConsentTallySchema(ConsentGateSchema):
    survey_id = Integer()
    status = ma.fields.String()
    buildings = ma.fields.List(
        ma.fields.Nested(ConsentBuildingSchema),
        metadata={"description": "分楼栋：在多个楼栋有房屋的业主在每个楼栋各计一人"},
    )
    contributions = ma.fields.List(
        ma.fields.Nested(DistributionSchema), metadata={"description": "出资意愿及方式"}
    )
    management = ma.fields.List(
        ma.fields.Nested(DistributionSchema), metadata={"description": "长效管理方式"}
    )
    computed_at = ma.fields.String(metadata={"format": "date-time"})


class NonRespondentQuerySchema(Schema):
    building_id = Integer(metadata={"description": "在该楼栋有房屋的业主"})


class NonRespondentSchema(Schema):
    person_id = Integer()
    rooms = ma.fields.List(ma.fields.String(), metadata={"example": ["2栋1单元202"]})
    developer = ma.fields.Boolean(metadata={"description": "开发建设单位（未售、未交付房屋）"})
    owners = ma.fields.List(
        ma.fields.Nested(ContactSchema),
        metadata={"description": "本小区业委会可见完整姓名和手机号（便于联系），其他工作人员脱敏"},
    )
    area = Amount()


# --- menu ----------------------------------------------------------------------------------


MONEY_MAX = Decimal("999999999999.99")


def _whole_fen(value: Decimal) -> None:
    if value != value.quantize(Decimal("0.01")):
        raise ma.ValidationError("金额最多保留两位小数")


class Money(PlainDecimal):
    """Money in input: yuan, at least 0, at most two decimals (more are rejected, not
    rounded)."""

    def __init__(self, **kwargs):
        money_range = ma.validate.Range(
            min=0, max=MONEY_MAX, error="金额须在 0 到 999999999999.99 之间"
        )
        super().__init__(validate=[money_range, _whole_fen], **kwargs)


TIERS = ["basic", "improvement", "enhancement"]
TIER_FIELD = ma.validate.OneOf(TIERS, error="类别只能是 basic、improvement 或 enhancement")


class MenuItemQuerySchema(Schema):
    tier = ma.fields.String(validate=TIER_FIELD, metadata={"enum": TIERS})
    district_id = Integer(
        metadata={"description": "该区自有的改造项目一并列出（须在管辖或所辖小区所在区）"}
    )


class MenuItemSchema(Schema):
    id = Integer()
    district_id = Integer(allow_none=True, metadata={"description": "null：政策清单"})
    tier = ma.fields.String(metadata={"enum": TIERS})
    tier_label = ma.fields.Function(
        lambda item: TIER_LABELS[item.tier], metadata={"example": "基础类"}
    )
    name = ma.fields.String(metadata={"example": "加装电梯"})
    description = ma.fields.String()
    position = Integer()


class MenuItemInSchema(Schema):
    tier = ma.fields.String(required=True, validate=TIER_FIELD, metadata={"enum": TIERS})
    name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=100, error="名称须为 1 到 100 个字"),
    )
    description = ma.fields.String(
        load_default="", validate=ma.validate.Length(max=500, error="说明最多 500 字")
    )
    position = Integer(strict=True, validate=ma.validate.Range(min=0, max=100000))

    @ma.pre_load
    def _strip(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            data = {**data, "name": data["name"].strip()}
        return data


class MenuEntryInSchema(Schema):
    menu_item_id = Integer(required=True, strict=True)
    estimated_cost = Money(required=True, metadata={"description": "估算投资（元）"})
    residents_part = Money(required=True, metadata={"description": "居民出资部分（元）"})
    per_household = Money(
        allow_none=True, metadata={"description": "每户固定出资（元）；不设则按面积分摊居民出资"}
    )

    @ma.validates_schema
    def _part_within_cost(self, data, **kwargs):
        if data["residents_part"] > data["estimated_cost"]:
            raise ma.ValidationError("居民出资不能超过估算投资", "residents_part")


class AdoptionSchema(Schema):
    numerator = Integer(
        required=True, strict=True, validate=ma.validate.Range(min=1, error="须为正整数")
    )
    denominator = Integer(
        required=True, strict=True, validate=ma.validate.Range(min=1, error="须为正整数")
    )
    strict = ma.fields.Boolean(
        required=True, metadata={"description": "true：须超过该比例（过半数）；false：达到即可"}
    )

    @ma.validates_schema
    def _proper(self, data, **kwargs):
        if data["numerator"] > data["denominator"]:
            raise ma.ValidationError("采纳比例不能超过 1", "numerator")


class MenuInSchema(Schema):
    items = ma.fields.List(
        ma.fields.Nested(MenuEntryInSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=100, error="菜单须有 1 到 100 个项目"),
    )
    min_items = Integer(required=True, strict=True, metadata={"description": "至少选几项"})
    max_items = Integer(required=True, strict=True, metadata={"description": "至多选几项"})
    budget_cap = Money(allow_none=True, metadata={"description": "预算上限（元，估算投资）"})
    adoption = ma.fields.Nested(
        AdoptionSchema,
        metadata={"description": "完善类、提升类的采纳门槛（占参与人数）；默认过半数 1/2 strict"},
    )

    @ma.validates_schema
    def _consistent(self, data, **kwargs):
        items = data.get("items") or []
        ids = [entry["menu_item_id"] for entry in items]
        if len(set(ids)) != len(ids):
            raise ma.ValidationError("同一改造项目不能重复列入菜单", "items")
        low, high = data.get("min_items"), data.get("max_items")
        if low is None or high is None:
            return
        if not 0 <= low <= high <= len(items):
            raise ma.ValidationError(
                f"须满足 0 ≤ 至少选择项数 ≤ 至多选择项数 ≤ 菜单项目数（{len(items)}）", "max_items"
            )


class AdoptionOutSchema(Schema):
    numerator = Integer()
    denominator = Integer()
    strict = ma.fields.Boolean()


class MenuEntrySchema(Schema):
    id = Integer(metadata={"description": "菜单项（survey_menu_item）id"})
    menu_item_id = Integer()
    option_id = Integer(allow_none=True, metadata={"description": "作答时选择的选项"})
    name = ma.fields.String()
    description = ma.fields.String()
    estimated_cost = Amount()
    residents_part = Amount()
    per_household = Amount(allow_none=True)
    my_cost = Amount(
        allow_none=True,
        metadata={
            "description": "本户应出资（元）：每户固定出资，或按面积占比分摊居民出资（到分）"
        },
    )


class MenuTierSchema(Schema):
    tier = ma.fields.String(metadata={"enum": TIERS})
    label = ma.fields.String(metadata={"example": "基础类"})
    items = ma.fields.List(ma.fields.Nested(MenuEntrySchema))


class HouseholdSchema(Schema):
    persons = Integer(metadata={"description": "本人在范围内计为几户（通常 1）"})
    area = Amount(metadata={"description": "本户在范围内的专有部分面积（m²）"})
    labels = ma.fields.List(ma.fields.String(), metadata={"example": ["1栋1单元101"]})


class MenuSchema(Schema):
    survey_id = Integer()
    question_id = Integer(allow_none=True, metadata={"description": "菜单题"})
    min_items = Integer(allow_none=True)
    max_items = Integer(allow_none=True)
    budget_cap = Amount(allow_none=True)
    adoption = ma.fields.Nested(AdoptionOutSchema)
    estimated_cost = Amount(metadata={"description": "菜单全部项目估算投资合计"})
    residents_part = Amount(metadata={"description": "菜单全部项目居民出资合计"})
    tiers = ma.fields.List(ma.fields.Nested(MenuTierSchema))
    household = ma.fields.Nested(
        HouseholdSchema,
        allow_none=True,
        metadata={"description": "居民本户；工作人员或非业主为 null"},
    )


class ThresholdSchema(AdoptionOutSchema):
    label = ma.fields.String(metadata={"example": "过半数"})


class MenuResultItemSchema(Schema):
    id = Integer()
    menu_item_id = Integer()
    tier = ma.fields.String(metadata={"enum": TIERS})
    tier_label = ma.fields.String()
    name = ma.fields.String()
    estimated_cost = Amount()
    residents_part = Amount()
    support_count = Integer(metadata={"description": "选择该项的人数"})
    support_area = Amount(
        allow_none=True, metadata={"description": "选择者面积（按住户计时 null）"}
    )
    support = ma.fields.Nested(RatiosSchema, metadata={"description": "支持率：占参与人数 / 面积"})
    basic = ma.fields.Boolean(metadata={"description": "基础类：应改尽改"})
    adopted = ma.fields.Boolean(metadata={"description": "基础类，或达到采纳门槛"})
    included = ma.fields.Boolean(metadata={"description": "纳入改造内容清单"})
    status = ma.fields.String(
        metadata={"enum": ["basic", "included", "over_budget", "not_adopted"]}
    )
    priority = Integer(allow_none=True, metadata={"description": "纳入项目的优先顺序"})
    note = ma.fields.String(metadata={"example": "应改尽改"})


class MenuResultSchema(Schema):
    survey_id = Integer()
    final = ma.fields.Boolean(metadata={"description": "false：问卷进行中的实时统计"})
    basis = ma.fields.String(metadata={"enum": ["owner", "resident"]})
    respondents = Integer(metadata={"description": "参与人数"})
    respondents_area = Amount(allow_none=True)
    threshold = ma.fields.Nested(ThresholdSchema)
    budget_cap = Amount(allow_none=True)
    budget_used = Amount(metadata={"description": "纳入项目估算投资合计"})
    budget_left = Amount(allow_none=True, metadata={"description": "超出上限时为负"})
    cap_exceeded = ma.fields.Boolean(metadata={"description": "基础类合计已超出预算上限"})
    included_cost = Amount()
    included_residents_part = Amount()
    items = ma.fields.List(
        ma.fields.Nested(MenuResultItemSchema),
        metadata={"description": "基础类按支持排序，其后已采纳、未采纳项目按支持排序"},
    )
    included = ma.fields.List(Integer(), metadata={"description": "纳入的菜单项，按优先顺序"})
    over_budget = ma.fields.List(Integer(), metadata={"description": "达到门槛但超出预算"})


# --- satisfaction, charts and exports ------------------------------------------------------


class SatisfactionCountsSchema(Schema):
    satisfied = Integer(metadata={"description": "满意"})
    basic = Integer(metadata={"description": "基本满意"})
    dissatisfied = Integer(metadata={"description": "不满意"})
    unknown = Integer(metadata={"description": "不了解（不计入满意率）"})


class SatisfactionFiguresSchema(Schema):
    counts = ma.fields.Nested(SatisfactionCountsSchema)
    rate = ma.fields.Nested(
        CountRatioSchema,
        metadata={"description": "满意率 = (满意 + 基本满意) / (满意 + 基本满意 + 不满意)"},
    )
    passed = ma.fields.Boolean(
        allow_none=True, metadata={"description": "满意率 ≥ 达标线（精确比较）；无有效评价时 null"}
    )


class SatisfactionDimensionSchema(SatisfactionFiguresSchema):
    question_id = Integer()
    dimension = ma.fields.String(metadata={"example": "工程质量"})
    text = ma.fields.String()
    menu_item_id = Integer(allow_none=True, metadata={"description": "所评改造项目"})


class SatisfactionBuildingSchema(SatisfactionFiguresSchema):
    building_id = Integer(allow_none=True)
    name = ma.fields.String(metadata={"example": "1栋"})
    dimensions = ma.fields.List(ma.fields.Nested(SatisfactionDimensionSchema))


class SatisfactionItemSchema(SatisfactionFiguresSchema):
    menu_item_id = Integer()
    name = ma.fields.String(metadata={"example": "加装电梯"})
    tier = ma.fields.String(metadata={"enum": ["basic", "improvement", "enhancement"]})


class SatisfactionSchema(Schema):
    survey_id = Integer()
    threshold = Amount(metadata={"description": "达标线（%），问卷未设置时为 80.00"})
    responses = Integer(metadata={"description": "答卷数"})
    overall = ma.fields.Nested(
        SatisfactionFiguresSchema, metadata={"description": "总体：各维度计数之和"}
    )
    dimensions = ma.fields.List(ma.fields.Nested(SatisfactionDimensionSchema))
    buildings = ma.fields.List(
        ma.fields.Nested(SatisfactionBuildingSchema),
        metadata={"description": "分楼栋：按答卷所属楼栋"},
    )
    items = ma.fields.List(
        ma.fields.Nested(SatisfactionItemSchema), metadata={"description": "分改造项目"}
    )


class SurveyCommentSchema(Schema):
    """A free-text answer. Named surveys add where it comes from (room labels, no names);
    anonymous surveys nothing about who wrote it."""

    question_id = Integer()
    question = ma.fields.String()
    text = ma.fields.String()
    submitted_at = LocalDateTime(metadata={"description": "实名问卷才有"})
    building = ma.fields.String(metadata={"description": "实名问卷才有"})
    rooms = ma.fields.String(metadata={"description": "实名问卷才有", "example": "1栋1单元101"})


class SatisfactionChartQuerySchema(Schema):
    by = ma.fields.String(
        load_default="dimension",
        validate=ma.validate.OneOf(
            ["dimension", "building", "item"], error="by 只能是 dimension、building 或 item"
        ),
        metadata={"description": "dimension 分维度（含总体） / building 分楼栋 / item 分改造项目"},
    )


# --- extending the deadline ----------------------------------------------------------------


class SurveyDeadlineInSchema(Schema):
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
        metadata={"description": "延长的原因（1–200 字），告知居民并留存记录"},
    )


class SurveyDeadlineChangeSchema(Schema):
    old_closes_at = LocalDateTime(metadata={"description": "原截止时间"})
    new_closes_at = LocalDateTime(metadata={"description": "新截止时间"})
    reason = ma.fields.String()
    created_at = LocalDateTime(metadata={"description": "延长的时间"})
    staff_id = Integer()


class SurveyReminderSchema(ReminderFieldsSchema):
    survey_id = Integer()


class SurveyReminderStartedSchema(Schema):
    reminder = ma.fields.Nested(SurveyReminderSchema)
    job_id = ma.fields.String(allow_none=True, metadata={"description": JOB_ID_DESCRIPTION})


class SurveyDoorToDoorQuerySchema(Schema):
    building_id = Integer(metadata={"description": "只看该楼栋的单元"})
    entrance_id = Integer(metadata={"description": "只看该单元"})


class SurveyDoorToDoorHouseholdSchema(Schema):
    dwelling_id = Integer()
    person_id = Integer(allow_none=True, metadata={"description": "按业主作答时的业主编号"})
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
        metadata={"description": "今天（北京时间）已给该户业主的手机发过提醒短信（表决或问卷）"}
    )


class SurveyDoorToDoorEntranceSchema(Schema):
    building_id = Integer()
    entrance_id = Integer()
    building = ma.fields.String(metadata={"example": "2栋"})
    entrance = ma.fields.String(metadata={"example": "1单元"})
    name = ma.fields.String(metadata={"example": "2栋1单元"})
    t_cnt = Integer(
        metadata={
            "description": "按业主作答：该单元的业主人数（跨单元的业主在每个单元各计一次）；"
            "按居民作答：该单元的户数"
        }
    )
    t_area = Amount()
    answered_cnt = Integer(metadata={"description": "已作答的人数（按居民作答：户数）"})
    answered_area = Amount()
    missing_cnt = Integer(metadata={"description": "尚未作答的人数（按居民作答：户数）"})
    missing_area = Amount()
    households = ma.fields.List(
        ma.fields.Nested(SurveyDoorToDoorHouseholdSchema),
        metadata={"description": "尚未作答的住户，按楼层、房号排序"},
    )
