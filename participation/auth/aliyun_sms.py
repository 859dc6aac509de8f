"""SMS through Alibaba Cloud 短信服务 (dysmsapi), its documented HTTP API, no SDK.

One call: ``SendSms`` of API version ``2017-05-25``, RPC style, signature version 1.0. What the
code follows, as documented:

- SendSms (https://help.aliyun.com/document_detail/55284.html, English:
  https://help.aliyun.com/en/sms/developer-reference/api-dysmsapi-2017-05-25-sendsms):
  parameters ``PhoneNumbers``, ``SignName``, ``TemplateCode``, ``TemplateParam`` (a JSON
  string); answer ``{"Code": "OK", "Message": "OK", "BizId": …, "RequestId": …}`` or another
  ``Code``. The page advises a timeout of at least 1 s and, after a timeout, not to retry blindly
  (the call is not idempotent; billing follows the carrier's receipt).
- Signing (https://www.alibabacloud.com/help/zh/sms/signature-method,
  https://help.aliyun.com/document_detail/101343.htm): sort the parameters (all but
  ``Signature``) by name; percent-encode names and values as RFC 3986 (A-Z a-z 0-9 ``-_.~``
  kept, space ``%20``, ``*`` ``%2A``); join ``name=value`` with ``&``; StringToSign =
  ``HTTPMethod + "&" + percentEncode("/") + "&" + percentEncode(canonical query)``; Signature =
  Base64(HMAC-SHA1(key = AccessKeySecret + "&", StringToSign)). The documented example
  (AccessKeyId ``testId``, secret ``testSecret``, nonce ``45e25e9b-…``, 2017-07-12T02:42:19Z)
  gives ``zJDF+Lrzhj/ThnlvIToysFRq6t4=``; tests/auth/test_aliyun_sms.py checks it.
- Common parameters (V2 RPC, https://help.aliyun.com/zh/vod/calling-methods): ``Action``,
  ``Version``, ``Format`` (JSON), ``AccessKeyId``, ``SignatureNonce`` (unique per request: a
  uuid4), ``Timestamp`` (UTC, ``yyyy-MM-ddTHH:mm:ssZ``, good for 31 minutes),
  ``SignatureMethod`` ``HMAC-SHA1``, ``SignatureVersion`` ``1.0``; GET or POST. We POST the
  parameters as an ``application/x-www-form-urlencoded`` body (StringToSign begins ``POST&``,
  as Aliyun's own SendSms demo and SDK send it), so the phone number and the sign-in code are
  never part of a URL.
- Error codes (https://help.aliyun.com/document_detail/101346.html): ``isv.*`` are ours to fix
  or the number's (``isv.MOBILE_NUMBER_ILLEGAL``, ``isv.BUSINESS_LIMIT_CONTROL`` — the
  provider's per-number flow control, by default 1 a minute, 5 an hour, 10 a day for codes —
  ``isv.SMS_TEMPLATE_ILLEGAL``, ``isv.AMOUNT_NOT_ENOUGH``, …); ``isp.*`` (``isp.SYSTEM_ERROR``)
  are the platform's and may succeed on a retry. Gateway errors (``SignatureDoesNotMatch``,
  ``InvalidAccessKeyId.NotFound``, ``Throttling.*``) come with an HTTP 4xx status and the same
  ``Code``/``Message``/``RequestId`` body.

Logged: the masked phone, the template's logical name, the provider's code and RequestId —
never the AccessKey secret, the sign-in code, the template parameters or the provider's message
(a ``SignatureDoesNotMatch`` message quotes the string to sign, phone number included).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from participation.auth.sms import SmsFailed
from participation.common.privacy import mask_phone

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com"
ACTION = "SendSms"
VERSION = "2017-05-25"
REGION = "cn-hangzhou"
MAX_ANSWER_BYTES = 64 * 1024
CODE_TEMPLATE = "sign_in_code"  # the logical name the sign-in code goes out under, in logs
# Provider codes that may succeed on a later try of the same request, besides isp.*.
RETRYABLE_CODES = {"Throttling", "Throttling.User", "Throttling.Api", "ServiceUnavailable"}
REQUIRED_SETTINGS = (
    "ALIYUN_SMS_ACCESS_KEY_ID",
    "ALIYUN_SMS_ACCESS_KEY_SECRET",
    "ALIYUN_SMS_SIGN_NAME",
    "ALIYUN_SMS_CODE_TEMPLATE",
)


# --- signature version 1.0 ---------------------------------------------------------------


def percent_encode(value: str) -> str:
    """RFC 3986 encoding of UTF-8: only A-Z a-z 0-9 ``-_.~`` stay as they are."""
    return urllib.parse.quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{percent_encode(name)}={percent_encode(params[name])}"
        for name in sorted(params)
        if name != "Signature"
    )


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    digest = hmac.new(
        (secret + "&").encode(), string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


def timestamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_templates(value: str | Mapping[str, str] | None) -> dict[str, str]:
    """``"vote_reminder=SMS_123,ticket_progress=SMS_456"`` → a dict (a dict is kept)."""
    if not value:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    templates = {}
    for item in value.split(","):
        if not item.strip():
            continue
        name, sep, code = item.partition("=")
        if not sep or not name.strip() or not code.strip():
            raise ValueError(f"ALIYUN_SMS_NOTICE_TEMPLATES: {item.strip()!r} is not name=code")
        templates[name.strip()] = code.strip()
    return templates


# --- the sender -----------------------------------------------------------------------------


class AliyunSmsSender:
    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        code_template: str,
        notice_templates: Mapping[str, str] | None = None,
        endpoint: str = DEFAULT_ENDPOINT,
        timeout: float = 5,
    ) -> None:
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self.sign_name = sign_name
        self.code_template = code_template
        self.notice_templates = dict(notice_templates or {})
        self.url = endpoint.rstrip("/") + "/"
        self.timeout = timeout

    def __repr__(self) -> str:  # never the secret
        return f"AliyunSmsSender({self.url!r}, sign_name={self.sign_name!r})"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AliyunSmsSender:
        missing = [name for name in REQUIRED_SETTINGS if not config.get(name)]
        if missing:
            names = ", ".join("PARTICIPATION_" + name for name in missing)
            raise RuntimeError(f"SMS_SENDER=aliyun needs {names}")
        return cls(
            access_key_id=config["ALIYUN_SMS_ACCESS_KEY_ID"],
            access_key_secret=config["ALIYUN_SMS_ACCESS_KEY_SECRET"],
            sign_name=config["ALIYUN_SMS_SIGN_NAME"],
            code_template=config["ALIYUN_SMS_CODE_TEMPLATE"],
            notice_templates=parse_templates(config.get("ALIYUN_SMS_NOTICE_TEMPLATES")),
            endpoint=config.get("ALIYUN_SMS_ENDPOINT") or DEFAULT_ENDPOINT,
            timeout=config.get("ALIYUN_SMS_TIMEOUT_SECONDS") or 5,
        )

    def send_code(self, phone: str, code: str) -> None:
        self._send(phone, CODE_TEMPLATE, self.code_template, {"code": code})

    def send_notice(self, phone: str, template: str, params: dict[str, str]) -> None:
        template_code = self.notice_templates.get(template)
        if template_code is None:
            log.error("sms %s to %s: no template code configured", template, mask_phone(phone))
            raise SmsFailed("template_unknown", f"no template code for {template!r}", False)
        self._send(phone, template, template_code, params)

    def signed_params(
        self,
        phone: str,
        template_code: str,
        template_params: Mapping[str, str],
        nonce: str | None = None,
        now: datetime | None = None,
    ) -> dict[str, str]:
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": ACTION,
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": REGION,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "TemplateCode": template_code,
            # Values as strings: the provider refuses numbers (isv.INVALID_JSON_PARAM).
            "TemplateParam": json.dumps(
                {k: str(v) for k, v in template_params.items()},
                ensure_ascii=False,
                separators=(",", ":"),
            ),
            "Timestamp": timestamp(now),
            "Version": VERSION,
        }
        params["Signature"] = signature(self._secret, "POST", params)
        return params

    def _send(
        self, phone: str, template: str, template_code: str, template_params: Mapping[str, str]
    ) -> None:
        params = self.signed_params(phone, template_code, template_params)
        body = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items())
        request = urllib.request.Request(
            self.url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        where = f"sms {template} to {mask_phone(phone)}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                data = json.loads(answer.read(MAX_ANSWER_BYTES))
        except urllib.error.HTTPError as exc:
            raise self._http_failure(where, exc) from None
        except TimeoutError:
            log.warning("%s: no answer in %ss", where, self.timeout)
            raise SmsFailed("timeout", "no answer in time", True, maybe_sent=True) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                log.warning("%s: no answer in %ss", where, self.timeout)
                raise SmsFailed("timeout", "no answer in time", True, maybe_sent=True) from None
            # Refused or no such host: nothing went out. Anything else may have.
            not_sent = isinstance(reason, ConnectionRefusedError | socket.gaierror)
            log.warning("%s: unreachable (%s)", where, type(reason).__name__)
            raise SmsFailed("unreachable", type(reason).__name__, True, not not_sent) from None
        except (OSError, ValueError) as exc:  # a broken connection or an answer not JSON
            log.warning("%s: bad answer (%s)", where, type(exc).__name__)
            raise SmsFailed("bad_answer", type(exc).__name__, True, maybe_sent=True) from None
        if not isinstance(data, dict):
            log.warning("%s: the answer is not an object", where)
            raise SmsFailed("bad_answer", "not an object", True, maybe_sent=True)
        code = str(data.get("Code") or "")
        request_id = data.get("RequestId")
        if code == "OK":
            log.info("%s: sent, RequestId %s", where, request_id)
            return
        retryable = code.startswith("isp.") or code in RETRYABLE_CODES
        log.log(
            logging.WARNING if retryable else logging.ERROR,
            "%s: refused, Code %s, RequestId %s",
            where,
            code or "(none)",
            request_id,
        )
        raise SmsFailed(code or "bad_answer", str(data.get("Message") or ""), retryable)

    def _http_failure(self, where: str, exc: urllib.error.HTTPError) -> SmsFailed:
        """An HTTP error status: 5xx may pass on a retry, 4xx (a gateway refusal such as
        ``SignatureDoesNotMatch``) not, unless it is throttling."""
        try:
            data = json.loads(exc.read(MAX_ANSWER_BYTES))
        except (OSError, ValueError):
            data = None
        finally:
            exc.close()
        data = data if isinstance(data, dict) else {}
        code = str(data.get("Code") or f"http_{exc.code}")
        retryable = exc.code >= 500 or code.startswith(("isp.", "Throttling"))
        log.log(
            logging.WARNING if retryable else logging.ERROR,
            "%s: HTTP %s, Code %s, RequestId %s",
            where,
            exc.code,
            code,
            data.get("RequestId"),
        )
        return SmsFailed(code, str(data.get("Message") or ""), retryable)
