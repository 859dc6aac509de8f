"""The notice board's public pages (plain Flask, server-rendered, not in the API document):
notices and results (公示) as pages to read on a phone and to print on A4, and the message
page (a QR code's short link itself is served by the H5 package, which it opens).

Nothing here needs a sign-in, so nothing here shows a person: notices marked public, and
results as aggregates with place names.
"""

from __future__ import annotations

import io

from flask import Blueprint, render_template, send_file

from participation.common.errors import ApiError
from participation.common.http import CONTENT_SECURITY_POLICY
from participation.common.schemas import local_time
from participation.extensions import db
from participation.notices import publication, services, wording
from participation.notices.models import NoticeKind
from participation.roster.models import Compound
from participation.surveys.charts import consent_chart
from participation.surveys.models import Survey
from participation.votes.charts import vote_chart

bp = Blueprint(
    "notice_pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/notices/static",
)
KIND_NAMES = {
    NoticeKind.GENERAL: "公告",
    NoticeKind.CAMPAIGN: "征集与表决",
    NoticeKind.RESULT: "结果公示",
    NoticeKind.PROGRESS: "项目进度",
}


def message(status: int, heading: str, *lines: str, action_url=None, action_label=None):
    page = render_template(
        "notices/message.html",
        heading=heading,
        lines=lines,
        action_url=action_url,
        action_label=action_label,
    )
    return page, status


@bp.get("/notices/<int:notice_id>")
def notice_page(notice_id: int):
    """A public notice, readable on a phone and printable."""
    try:
        notice = services.public_notice(notice_id)
    except ApiError:
        return message(404, "公告不存在", "这条公告不存在、已撤下或不对外公开。")
    result_page = None
    if notice.kind is NoticeKind.RESULT and notice.vote_id:
        result_page = f"/notices/votes/{notice.vote_id}"
    elif notice.kind is NoticeKind.RESULT and notice.survey_id:
        survey = db.session.get(Survey, notice.survey_id)
        if publication.SURVEYS.has_notice(survey):
            result_page = f"/notices/surveys/{notice.survey_id}"
    return render_template(
        "notices/notice.html",
        notice=notice,
        compound=db.session.get(Compound, notice.compound_id),
        kind_name=KIND_NAMES[notice.kind],
        paragraphs=[p for p in notice.body.splitlines() if p.strip()],
        result_page=result_page,
        local_time=local_time,
        file_size=file_size,
    )


KINDS = {"votes": publication.VOTES, "surveys": publication.SURVEYS}


def _document(kinds: str, campaign_id: int) -> dict | None:
    """The 公示 document of a published or final campaign, or None."""
    try:
        return publication.notice(KINDS[kinds], campaign_id)
    except ApiError:
        return None


def _chart(notice: dict) -> bytes:
    """The whole scope's result as charted (no per-building figures on a public page)."""
    if notice["kind"] == "vote":
        return vote_chart({**notice["result"], "decision": notice.get("decision")})
    return consent_chart({**notice["result"], "basis": notice["basis"]})


@bp.get("/notices/<any(votes, surveys):kinds>/<int:campaign_id>")
def result_page(kinds: str, campaign_id: int):
    """The 公示 of a vote or consent survey: to read on a phone and print on one A4 page."""
    notice = _document(kinds, campaign_id)
    if notice is None:
        return message(404, "公示不存在", "这项结果尚未公示，或不对外公开。")
    campaign = KINDS[kinds].model
    compound_id = db.session.get(campaign, campaign_id).compound_id
    compound = db.session.get(Compound, compound_id)
    passed, verdict, missing = wording.verdict(notice)
    rows = wording.rows(notice)
    return render_template(
        "notices/result.html",
        notice=notice,
        heading=wording.heading(notice),
        scope=wording.scope_text(notice),
        rule=wording.rule_text(notice),
        rows=rows,
        rates=wording.rates(notice),
        passed=passed,
        verdict=verdict,
        decision_rows=wording.decision_rows(notice),
        missing=missing,
        objection_lines=wording.objection_text(notice),
        objections=wording.objection_items(notice),
        corrections=wording.correction_lines(notice),
        counting_note=wording.COUNTING_NOTE,
        chart_url=f"/notices/{kinds}/{campaign_id}/chart.png",
        chart_alt=f"结果图：{verdict}。" + "；".join(f"{r.label} {r.persons} 人" for r in rows),
        organiser=f"{compound.community.name}居民委员会",
        compound_id=compound_id,
        when=wording.when,
    )


@bp.get("/notices/<any(votes, surveys):kinds>/<int:campaign_id>/chart.png")
def result_chart(kinds: str, campaign_id: int):
    notice = _document(kinds, campaign_id)
    if notice is None:
        return message(404, "公示不存在", "这项结果尚未公示，或不对外公开。")
    response = send_file(io.BytesIO(_chart(notice)), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


def file_size(size: int) -> str:
    if size >= 2**20:
        return f"{size / 2**20:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


@bp.after_request
def headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-cache")
    return response
