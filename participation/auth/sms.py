"""Sending sign-in codes by SMS, behind one small interface.

``PARTICIPATION_SMS_SENDER`` picks the sender: ``console`` (the embedded default: the code goes
to the server log, phone masked) or ``test`` (an outbox the test suite reads). A real provider
is one more class with ``send_code`` and one more entry in ``SENDERS``.
"""

from __future__ import annotations

import logging
from typing import Protocol

from flask import Flask, current_app

from participation.common.privacy import mask_phone

log = logging.getLogger(__name__)


class SmsSender(Protocol):
    def send_code(self, phone: str, code: str) -> None: ...


class ConsoleSender:
    """For development and demos: whoever reads the server log can sign in."""

    def send_code(self, phone: str, code: str) -> None:
        log.info("sign-in code for %s: %s", mask_phone(phone), code)


class TestSender:
    """Keeps what would have been sent, newest last."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.outbox: list[tuple[str, str]] = []

    def send_code(self, phone: str, code: str) -> None:
        self.outbox.append((phone, code))


SENDERS: dict[str, type[SmsSender]] = {"console": ConsoleSender, "test": TestSender}


def init_app(app: Flask) -> None:
    name = app.config["SMS_SENDER"]
    if name not in SENDERS:
        raise RuntimeError(f"SMS_SENDER must be one of {sorted(SENDERS)}, not {name!r}")
    app.extensions["sms_sender"] = SENDERS[name]()


def sender() -> SmsSender:
    return current_app.extensions["sms_sender"]
