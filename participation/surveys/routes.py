"""Surveys: questionnaires, the consent gate, the menu of renovation items, satisfaction.

Every ``<int:survey_id>`` is resolved through the caller's scope before the view runs
(``surveys.services.get_survey``).
"""

from __future__ import annotations

from flask_smorest import Blueprint

from participation.auth.scoping import PUBLIC_BLUEPRINTS

blp = Blueprint("surveys", __name__, description="Surveys: consent, menu, satisfaction")
public_blp = Blueprint("public_surveys", __name__, description="Public survey notices")
PUBLIC_BLUEPRINTS.add(public_blp.name)

SECURITY = [{"bearerAuth": []}]


# --- questionnaires and answers (services.py) ----------------------------------------------


# --- consent gate and 公示 (consent.py) -----------------------------------------------------


# --- menu (menu.py) ------------------------------------------------------------------------


# --- satisfaction, charts and exports (satisfaction.py, charts.py, exports.py) -------------
