"""Request and response schemas for the notice board."""

from __future__ import annotations

import marshmallow as ma

from participation.common.schemas import Integer, LocalDateTime, OneOfNested, Schema
from participation.counting import Basis, Rule
from participation.surveys.models import SurveyKind
from participation.surveys.schemas import ConsentGateSchema
from participation.votes.models import Matter, VoteStatus
from participation.votes.schemas import ResultSchema

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


class ResolutionInSchema(Schema):
    resolution = _text("处理结果")


class ObjectionSchema(Schema):
    """An objection to a vote's result (``vote_id``) or a survey's (``survey_id``)."""

    id = Integer()
    vote_id = Integer(allow_none=True, metadata={"description": "表决的异议；否则 null"})
    survey_id = Integer(allow_none=True, metadata={"description": "问卷的异议；否则 null"})
    summary = ma.fields.String()
    recorded_by_id = Integer()
    recorded_at = LocalDateTime()
    resolution = ma.fields.String(allow_none=True)
    resolved_by_id = Integer(allow_none=True)
    resolved_at = LocalDateTime(allow_none=True)


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


class ObjectionCountsSchema(Schema):
    received = Integer()
    resolved = Integer()


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
    objections = ma.fields.Nested(
        ObjectionCountsSchema, metadata={"description": "收到及已处理的异议数"}
    )
