"""Notifying residents' accounts (vote reminders, results available …) behind one interface.

``PARTICIPATION_NOTIFIER`` picks the notifier: ``console`` (the embedded default: the server
log gets how many accounts were notified and of what kind — never phones, names or the text)
or ``test`` (an outbox the test suite reads). A real channel (SMS, WeChat template message) is
one more class with ``notify`` and one more entry in ``NOTIFIERS``.
"""

from __future__ import annotations

import logging
from typing import Protocol

from flask import Flask, current_app

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def notify(self, account_ids: list[int], message: str, kind: str) -> None: ...


class ConsoleNotifier:
    def notify(self, account_ids: list[int], message: str, kind: str) -> None:
        log.info("notify %d accounts: %s", len(account_ids), kind)


class TestNotifier:
    """Keeps what would have been sent, newest last: ``(account_ids, message, kind)``."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.outbox: list[tuple[list[int], str, str]] = []

    def notify(self, account_ids: list[int], message: str, kind: str) -> None:
        self.outbox.append((list(account_ids), message, kind))


NOTIFIERS: dict[str, type[Notifier]] = {"console": ConsoleNotifier, "test": TestNotifier}


def init_app(app: Flask) -> None:
    name = app.config["NOTIFIER"]
    if name not in NOTIFIERS:
        raise RuntimeError(f"NOTIFIER must be one of {sorted(NOTIFIERS)}, not {name!r}")
    app.extensions["notifier"] = NOTIFIERS[name]()


def notifier() -> Notifier:
    return current_app.extensions["notifier"]


def notify(account_ids: list[int], message: str, kind: str) -> None:
    """Send ``message`` to the accounts through the configured notifier (nothing if empty)."""
    if account_ids:
        notifier().notify(account_ids, message, kind)
