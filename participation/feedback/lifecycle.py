"""A ticket's lifecycle as data: which action moves which status to which, and who may take
it. Pure: the services look moves up here and record them.

    submitted → acknowledged → in_progress → resolved → closed
                    (resolve may skip in_progress)    ↖ reopen (the reporter, in time)
    submitted / acknowledged / in_progress → rejected | duplicate | not_responsible

The reporter confirms a resolution (→ closed) or reopens it (→ in_progress) within the
confirmation period; after it the ticket closes by itself. After closing — or a refusal —
the reporter may rate the handling once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from participation.feedback.models import TicketStatus as S


class Who(enum.StrEnum):
    HANDLER = "handler"  # community staff, the committee, or the assigned contractor
    REPORTER = "reporter"  # the resident who filed the ticket
    SYSTEM = "system"


@dataclass(frozen=True)
class Move:
    action: str
    sources: frozenset[S]
    target: S
    who: Who
    label: str  # what the history says, in Chinese
    note_required: bool = False


OPEN = frozenset({S.SUBMITTED, S.ACKNOWLEDGED, S.IN_PROGRESS})
REFUSED = frozenset({S.REJECTED, S.DUPLICATE, S.NOT_RESPONSIBLE})
FINAL = frozenset({S.CLOSED}) | REFUSED

MOVES: dict[str, Move] = {
    move.action: move
    for move in (
        Move("acknowledge", frozenset({S.SUBMITTED}), S.ACKNOWLEDGED, Who.HANDLER, "已受理"),
        Move("start", frozenset({S.ACKNOWLEDGED}), S.IN_PROGRESS, Who.HANDLER, "开始处理"),
        Move(
            "resolve",
            frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS}),
            S.RESOLVED,
            Who.HANDLER,
            "已办结",
            note_required=True,
        ),
        Move("reject", OPEN, S.REJECTED, Who.HANDLER, "不予受理", note_required=True),
        Move("duplicate", OPEN, S.DUPLICATE, Who.HANDLER, "与已有问题重复"),
        Move(
            "refer",
            OPEN,
            S.NOT_RESPONSIBLE,
            Who.HANDLER,
            "非本单位职责，已转交",
            note_required=True,
        ),
        Move("confirm", frozenset({S.RESOLVED}), S.CLOSED, Who.REPORTER, "居民确认已解决"),
        Move(
            "reopen",
            frozenset({S.RESOLVED}),
            S.IN_PROGRESS,
            Who.REPORTER,
            "居民认为未解决，重新处理",
            note_required=True,
        ),
        Move("expire", frozenset({S.RESOLVED}), S.CLOSED, Who.SYSTEM, "确认期满，自动关闭"),
    )
}

STATUS_LABELS = {
    S.SUBMITTED: "已提交",
    S.ACKNOWLEDGED: "已受理",
    S.IN_PROGRESS: "处理中",
    S.RESOLVED: "已办结，待确认",
    S.CLOSED: "已关闭",
    S.REJECTED: "不予受理",
    S.DUPLICATE: "重复问题",
    S.NOT_RESPONSIBLE: "已转交其他单位",
}


# What a history shows for each action, moves and the rest.
EVENT_LABELS = {
    "file": "提交",
    "assign": "指派处理人",
    "overdue": "逾期提醒",
    "rate": "居民评价",
    **{action: move.label for action, move in MOVES.items()},
}


def rateable(status: S) -> bool:
    return status in FINAL
