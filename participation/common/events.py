"""What a campaign announces to the packages above it (the notice board posts a notice when a
vote or survey opens and takes it down when one is cancelled), without importing them.

Receivers run in the sender's transaction: they flush, never commit, and what they write is
committed, or rolled back, with the change that caused it. The sender is the campaign's kind
(``"vote"``, ``"survey"``); the campaign goes as ``campaign``.
"""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

campaign_opened = _events.signal("campaign-opened")
campaign_cancelled = _events.signal("campaign-cancelled")
# Its closing time moved later (the campaign carries the new ``closes_at``).
campaign_extended = _events.signal("campaign-extended")
