"""Sending SMS (sign-in codes and notices), behind one small interface.

``PARTICIPATION_SMS_SENDER`` picks the sender: ``console`` (the embedded default: the code goes
to the server log, phone masked), ``test`` (outboxes the test suite reads) or ``aliyun``
(Alibaba Cloud 短信服务, :mod:`participation.auth.aliyun_sms`). A sender has two methods:

- ``send_code(phone, code)``: a sign-in code;
- ``send_notice(phone, template, params)``: a notice (a reminder), ``template`` a logical name
  such as ``vote_reminder`` that each sender maps to what its provider needs.

Both raise :class:`SmsFailed` when the provider did not take the message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from flask import Flask, current_app

from participation.common.privacy import mask_phone

log = logging.getLogger(__name__)


class SmsFailed(Exception):
    """The provider did not take the message. ``code`` is the provider's error code (or ours:
    ``timeout``, ``unreachable``, ``http_<status>``, ``bad_answer``, ``template_unknown``);
    ``retryable`` says whether the same message may succeed later without anyone changing
    anything; ``maybe_sent`` that the provider may have taken it all the same (a timeout or a
    broken answer after the request went out). ``message`` is the provider's text: it is not
    logged (a gateway error can quote the request back)."""

    def __init__(self, code: str, message: str, retryable: bool, maybe_sent: bool = False):
        super().__init__(code)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.maybe_sent = maybe_sent

    def __str__(self) -> str:
        return f"SMS not sent: {self.code}{' (retryable)' if self.retryable else ''}"


class SmsSender(Protocol):
    def send_code(self, phone: str, code: str) -> None: ...

    def send_notice(self, phone: str, template: str, params: dict[str, str]) -> None: ...


class ConsoleSender:
    """For development and demos: whoever reads the server log can sign in."""

    def send_code(self, phone: str, code: str) -> None:
        log.info("sign-in code for %s: %s", mask_phone(phone), code)

    def send_notice(self, phone: str, template: str, params: dict[str, str]) -> None:
        log.info("notice %s for %s", template, mask_phone(phone))


class TestSender:
    """Keeps what would have been sent, newest last."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.outbox: list[tuple[str, str]] = []
        self.notices: list[tuple[str, str, dict[str, str]]] = []

    def send_code(self, phone: str, code: str) -> None:
        self.outbox.append((phone, code))

    def send_notice(self, phone: str, template: str, params: dict[str, str]) -> None:
        self.notices.append((phone, template, dict(params)))


def _aliyun(config: Mapping[str, Any]) -> SmsSender:
    from participation.auth.aliyun_sms import AliyunSmsSender

    return AliyunSmsSender.from_config(config)


SENDERS: dict[str, Callable[[Mapping[str, Any]], SmsSender]] = {
    "console": lambda config: ConsoleSender(),
    "test": lambda config: TestSender(),
    "aliyun": _aliyun,
}


def make_sender(config: Mapping[str, Any]) -> SmsSender:
    """The sender ``SMS_SENDER`` names, built from the settings; RuntimeError for an unknown
    name or a sender whose settings are missing (so the app does not start)."""
    name = config["SMS_SENDER"]
    if name not in SENDERS:
        raise RuntimeError(f"SMS_SENDER must be one of {sorted(SENDERS)}, not {name!r}")
    return SENDERS[name](config)


def init_app(app: Flask) -> None:
    app.extensions["sms_sender"] = make_sender(app.config)


def sender() -> SmsSender:
    return current_app.extensions["sms_sender"]
