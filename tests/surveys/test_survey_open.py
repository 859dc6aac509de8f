from decimal import Decimal

from participation.surveys.models import SurveyKind, SurveyStatus


def test_owner_survey_freezes_the_sample_electorate(
    sample_compound, make_survey, consent_question
):
    survey = make_survey(sample_compound, SurveyKind.CONSENT, [consent_question], open=True)
    assert survey.status is SurveyStatus.OPEN
    assert (survey.t_cnt, survey.t_area) == (45, Decimal("3622.29"))
