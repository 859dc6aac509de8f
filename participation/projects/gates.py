"""What a step needs before it may be completed, as pure functions of the project's facts.

Steps move in order: a step completes only once the step before it is done. Besides:

- 成立组织 (organise): the compound's self-governing organisation is recorded;
- 申请项目 (apply): a linked consent survey passed the 2/3 gate and its 公示 is final;
- 编制方案 (design): the menu result is in (a linked menu survey closed, on 公示 or final) and
  the summary of the plan consultation (方案征求意见) is published;
- 项目接管 (handover): the management mode after the works is recorded (``management``);
- 绩效评估 (evaluation): 项目验收 (acceptance) is done.

:func:`refusal` answers the first unmet condition as (code, Chinese message), or None.
"""

from __future__ import annotations

from dataclasses import dataclass

from participation.projects.models import StepKey, StepStatus


@dataclass(frozen=True)
class Facts:
    """What the gates look at, loaded by ``services.facts_of``."""

    statuses: dict[StepKey, StepStatus]
    organisation_recorded: bool = False
    consent_passed_and_final: bool = False
    menu_result_in: bool = False
    consultation_published: bool = False
    management_recorded: bool = False


Refusal = tuple[str, str]


def _previous(step: StepKey) -> StepKey | None:
    steps = list(StepKey)
    index = steps.index(step)
    return steps[index - 1] if index else None


def refusal(step: StepKey, facts: Facts) -> Refusal | None:
    """Why ``step`` cannot be completed now, or None when it can."""
    if facts.statuses[step] is StepStatus.DONE:
        return ("step_already_done", f"“{step.label}”已完成，无需重复操作")
    previous = _previous(step)
    if previous is not None and facts.statuses[previous] is not StepStatus.DONE:
        return ("step_out_of_order", f"请先完成上一步“{previous.label}”，再完成“{step.label}”")
    return _condition(step, facts)


def _condition(step: StepKey, facts: Facts) -> Refusal | None:
    if step is StepKey.ORGANISE and not facts.organisation_recorded:
        return (
            "organisation_missing",
            "尚未登记小区自治组织（业委会、自管小组或居民议事会等），不能完成“成立组织”",
        )
    if step is StepKey.APPLY and not facts.consent_passed_and_final:
        return (
            "consent_not_final",
            "须关联一项已达到三分之二业主同意、且公示期满结果已确认的改造意愿征集，"
            "才能完成“申请项目”",
        )
    if step is StepKey.DESIGN and not facts.menu_result_in:
        return (
            "menu_result_missing",
            "须关联一项已结束的改造内容（菜单式）征集，有了征集结果才能完成“编制方案”",
        )
    if step is StepKey.DESIGN and not facts.consultation_published:
        return (
            "consultation_not_published",
            "设计方案征求意见的汇总情况尚未公布，不能完成“编制方案”",
        )
    if step is StepKey.HANDOVER and not facts.management_recorded:
        return (
            "management_missing",
            "尚未登记经业主表决或征询确定的改造后管理方式，不能完成“项目接管”",
        )
    if step is StepKey.EVALUATION and facts.statuses[StepKey.ACCEPTANCE] is not StepStatus.DONE:
        return ("acceptance_not_done", "“项目验收”尚未完成，不能进行“绩效评估”")
    return None


def current_step(statuses: dict[StepKey, StepStatus]) -> StepKey | None:
    """The first step not done (None when all are)."""
    return next((step for step in StepKey if statuses[step] is not StepStatus.DONE), None)
