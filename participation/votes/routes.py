"""Owner votes: lifecycle, casting, tally, results and the public record.

Every ``<int:vote_id>`` is resolved through the caller's scope before the view runs
(``votes.services.get_vote``): staff see the votes of their compounds, residents the non-draft
votes of the compounds where they own or rent a dwelling.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from participation.auth.scoping import PUBLIC_BLUEPRINTS

blp = Blueprint("votes", __name__, description="Owner votes (表决)")
public_blp = Blueprint("public_votes", __name__, description="Public vote record and notices")
PUBLIC_BLUEPRINTS.add(public_blp.name)

SECURITY = [{"bearerAuth": []}]


# --- lifecycle and casting (services.py, casting.py) ---------------------------------------


# --- tally and results (tally.py, results.py) ----------------------------------------------


# --- verifiable record (record.py) ---------------------------------------------------------


# --- elevator cost plan (costs.py) ---------------------------------------------------------
