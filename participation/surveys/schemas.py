"""Request and response schemas for surveys."""

from __future__ import annotations

import marshmallow as ma  # noqa: F401

from participation.common.schemas import Amount, LocalDateTime, Schema  # noqa: F401

# --- questionnaires and answers ------------------------------------------------------------


# --- consent gate and 公示 -------------------------------------------------------------------


# --- menu ----------------------------------------------------------------------------------


# --- satisfaction, charts and exports ------------------------------------------------------
