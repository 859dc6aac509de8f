"""Sign-in, tokens, profile, claims (residents) and staff accounts."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("auth", __name__, description="Sign-in, tokens and the resident's profile")
staff_blp = Blueprint("staff", __name__, description="Staff accounts and roles")
