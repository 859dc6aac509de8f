"""Request and response schemas for votes."""

from __future__ import annotations

import marshmallow as ma  # noqa: F401

from participation.common.schemas import Amount, LocalDateTime, Schema  # noqa: F401

# --- lifecycle and casting -----------------------------------------------------------------


# --- tally and results ---------------------------------------------------------------------


# --- verifiable record ---------------------------------------------------------------------


# --- elevator cost plan --------------------------------------------------------------------
