"""The compound's short link (``/c/<code>``) for packages below the notice board.

Short links belong to ``notices`` (``notices/links.py``), which sits above the campaigns; a
vote's reminder SMS still has to carry its compound's link. As with ``common.events``, the
lower package asks through this hook and ``notices`` answers: it registers its provider when
it is imported (which ``create_app`` does), so nothing here imports ``notices``.
"""

from __future__ import annotations

from collections.abc import Callable

_provider: Callable[[int], str | None] | None = None


def provide_compound_link(func: Callable[[int], str | None]) -> Callable[[int], str | None]:
    """Register ``func(compound_id) -> full URL or None`` (a decorator; the last one wins)."""
    global _provider
    _provider = func
    return func


def compound_link(compound_id: int) -> str | None:
    """The full URL of the compound's current short link (made if it has none; flushes), or
    None when no provider is registered or the site's public address is unknown."""
    if _provider is None:
        return None
    return _provider(compound_id)
