"""Places, roster, electorate."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("roster", __name__, description="Places, roster and electorate")
