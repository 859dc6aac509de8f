"""SMS through Alibaba Cloud 短信服务 (SMS_SENDER=aliyun), against a stand-in dysmsapi server on
loopback that answers ``SendSms`` as Aliyun does — and checks the signature the way Aliyun does,
recomputing it from what it received with the test secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import func, select

from participation.auth import aliyun_sms, sms
from participation.auth.aliyun_sms import AliyunSmsSender
from participation.auth.models import PhoneCode
from participation.auth.sms import SmsFailed

KEY_ID = "LTAI5tStandInKeyId0001"
SECRET = "stand-in-access-key-secret-0123456789"
SIGN_NAME = "老旧小区改造"
CODE_TEMPLATE = "SMS_460000001"
PHONE = "13812345678"
CODES = "/api/v1/auth/codes"
REQUIRED = {
    "AccessKeyId",
    "Action",
    "Format",
    "PhoneNumbers",
    "RegionId",
    "SignName",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "TemplateCode",
    "TemplateParam",
    "Timestamp",
    "Version",
    "Signature",
}


# --- the documented algorithm, written out again step by step (not the module's code) -------


def _rfc3986(text: str) -> str:
    """Step 1.b of the signing page: A-Z a-z 0-9 - _ . ~ as they are, every other byte of the
    UTF-8 encoding as %XY (upper-case hex), so a space is %20, never +."""
    kept = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
    return "".join(chr(b) if b in kept else f"%{b:02X}" for b in text.encode("utf-8"))


def _documented_string_to_sign(method: str, params: dict[str, str]) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")  # 1.a: sort by name
    canonical = "&".join(_rfc3986(k) + "=" + _rfc3986(v) for k, v in pairs)  # 1.c, 1.d
    return method + "&" + _rfc3986("/") + "&" + _rfc3986(canonical)  # 2


def _documented_signature(secret: str, method: str, params: dict[str, str]) -> str:
    key = (secret + "&").encode()  # the key is AccessKeySecret followed by "&"
    mac = hmac.new(key, _documented_string_to_sign(method, params).encode("utf-8"), "sha1")
    return base64.b64encode(mac.digest()).decode()  # 3: Base64 of the HMAC-SHA1 value


# --- the stand-in ---------------------------------------------------------------------------


class StandInDysms:
    """``POST /`` with a form body, as the sender sends it (``GET /?…`` is answered too).
    Checks the required parameters, the AccessKeyId and the signature (recomputed from the
    received parameters with ``SECRET``) and answers as dysmsapi: HTTP 400
    ``MissingParameter`` / ``SignatureDoesNotMatch``, HTTP 404 ``InvalidAccessKeyId.NotFound``,
    else HTTP 200 with ``Code`` ``OK`` or ``self.code``. ``self.status`` forces another HTTP
    status, ``self.delay`` answers late. ``calls`` holds every request's parameters."""

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []
        self.methods: list[str] = []
        self.paths: list[str] = []
        self.reset()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self) -> None:
        self.calls.clear()
        self.methods.clear()
        self.paths.clear()
        self.code = "OK"
        self.status = 200
        self.delay = 0.0

    def answer(self, method: str, path: str, params: dict[str, str]) -> tuple[int, dict]:
        self.methods.append(method)
        self.paths.append(path)
        self.calls.append(params)
        request_id = f"F655A8D5-B967-440B-8683-{len(self.calls):012d}"
        if missing := sorted(REQUIRED - params.keys()):
            return 400, {"RequestId": request_id, "Code": "MissingParameter", "Message": missing[0]}
        if params["AccessKeyId"] != KEY_ID:
            return 404, {"RequestId": request_id, "Code": "InvalidAccessKeyId.NotFound"}
        expected = _documented_signature(SECRET, method, params)
        if not hmac.compare_digest(params["Signature"], expected):
            return 400, {
                "RequestId": request_id,
                "Code": "SignatureDoesNotMatch",
                # As Aliyun's: the message quotes the string to sign (phone number included).
                "Message": "Specified signature is not matched with our calculation. server "
                f"string to sign is:{_documented_string_to_sign(method, params)}",
            }
        if self.status != 200:
            return self.status, {"RequestId": request_id, "Code": "InternalError"}
        if self.code != "OK":
            return 200, {"RequestId": request_id, "Code": self.code, "Message": "refused"}
        return 200, {
            "RequestId": request_id,
            "Code": "OK",
            "Message": "OK",
            "BizId": f"9006197469364984^{len(self.calls)}",
        }

    def _handler(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, method: str, query: str) -> None:
                params = dict(parse_qsl(query, keep_blank_values=True))
                # Recorded as it arrives (a late answer then belongs to the test that sent it).
                status, answer = stand_in.answer(method, urlsplit(self.path).path, params)
                if stand_in.delay:
                    time.sleep(stand_in.delay)
                body = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json;charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up waiting
                    pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
                    self.send_error(415)
                    return
                self._reply("POST", self.rfile.read(length).decode())

            def do_GET(self):
                self._reply("GET", urlsplit(self.path).query)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture(scope="module")
def stand_in():
    server = StandInDysms()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join()


def _settings(base: str, **changes) -> dict:
    return {
        "SMS_SENDER": "aliyun",
        "ALIYUN_SMS_ACCESS_KEY_ID": KEY_ID,
        "ALIYUN_SMS_ACCESS_KEY_SECRET": SECRET,
        "ALIYUN_SMS_SIGN_NAME": SIGN_NAME,
        "ALIYUN_SMS_CODE_TEMPLATE": CODE_TEMPLATE,
        "ALIYUN_SMS_NOTICE_TEMPLATES": "vote_reminder=SMS_460000002, ticket_progress=SMS_460000003",
        "ALIYUN_SMS_ENDPOINT": base,
        "ALIYUN_SMS_TIMEOUT_SECONDS": 5,
        **changes,
    }


@pytest.fixture
def aliyun(app, monkeypatch, stand_in):
    """The app's SMS sender is the Aliyun one (built as at start), its endpoint the stand-in;
    ``aliyun(**settings)`` rebuilds it with other settings."""
    stand_in.reset()

    def configure(**changes) -> AliyunSmsSender:
        for key, value in _settings(stand_in.base, **changes).items():
            monkeypatch.setitem(app.config, key, value)
        sender = sms.make_sender(app.config)
        monkeypatch.setitem(app.extensions, "sms_sender", sender)
        return sender

    configure()
    stand_in.configure = configure
    return stand_in


def _sender(stand_in, **changes) -> AliyunSmsSender:
    return AliyunSmsSender.from_config(_settings(stand_in.base, **changes))


def _codes(db) -> int:
    return db.session.scalar(select(func.count()).select_from(PhoneCode))


# --- the signature --------------------------------------------------------------------------

DOC_PARAMS = {  # the example on Aliyun's SMS signing page (document 101343 / signature-method)
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}


def test_the_signature_of_the_documented_example():
    expected_string = (
        "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123"
        "%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF"
        "%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8"
        "%25AF%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0"
        "%26TemplateCode%3DSMS_71390007%26TemplateParam%3D%257B%2522customer%2522%253A"
        "%2522test%2522%257D%26Timestamp%3D2017-07-12T02%253A42%253A19Z"
        "%26Version%3D2017-05-25"
    )
    assert aliyun_sms.string_to_sign("GET", DOC_PARAMS) == expected_string
    assert _documented_string_to_sign("GET", DOC_PARAMS) == expected_string
    assert aliyun_sms.signature("testSecret", "GET", DOC_PARAMS) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert _documented_signature("testSecret", "GET", DOC_PARAMS) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_the_signature_of_our_request_known_answer():
    """Fixed nonce and time: the parameters the sender signs, StringToSign and Signature,
    against the documented algorithm done by hand with hmac and base64."""
    sender = AliyunSmsSender(KEY_ID, SECRET, SIGN_NAME, CODE_TEMPLATE)
    params = sender.signed_params(
        PHONE,
        CODE_TEMPLATE,
        {"code": "042917"},
        nonce="3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        now=datetime(2026, 12, 7, 8, 5, 9, tzinfo=UTC),
    )
    signed = params.pop("Signature")
    assert params == {
        "AccessKeyId": KEY_ID,
        "Action": "SendSms",
        "Format": "JSON",
        "PhoneNumbers": PHONE,
        "RegionId": "cn-hangzhou",
        "SignName": SIGN_NAME,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "TemplateCode": CODE_TEMPLATE,
        "TemplateParam": '{"code":"042917"}',
        "Timestamp": "2026-12-07T08:05:09Z",
        "Version": "2017-05-25",
    }
    canonical = (
        f"AccessKeyId={KEY_ID}&Action=SendSms&Format=JSON&PhoneNumbers={PHONE}"
        "&RegionId=cn-hangzhou&SignName=%E8%80%81%E6%97%A7%E5%B0%8F%E5%8C%BA%E6%94%B9%E9%80%A0"
        "&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
        "&SignatureVersion=1.0&TemplateCode=SMS_460000001"
        "&TemplateParam=%7B%22code%22%3A%22042917%22%7D&Timestamp=2026-12-07T08%3A05%3A09Z"
        "&Version=2017-05-25"
    )
    string = "POST&%2F&" + canonical.replace("%", "%25").replace("&", "%26").replace("=", "%3D")
    assert aliyun_sms.string_to_sign("POST", params) == string
    by_hand = base64.b64encode(
        hmac.new(f"{SECRET}&".encode(), string.encode(), hashlib.sha1).digest()
    ).decode()
    assert signed == by_hand
    assert re.fullmatch(r"[A-Za-z0-9+/]{27}=", signed)  # 20 bytes of SHA-1 in Base64


def test_percent_encoding_follows_rfc_3986():
    assert aliyun_sms.percent_encode("a b*c~d+e/f") == "a%20b%2Ac~d%2Be%2Ff"
    assert aliyun_sms.percent_encode("改造") == "%E6%94%B9%E9%80%A0"


# --- a sign-in code through the API ---------------------------------------------------------


def test_a_code_reaches_aliyun_signed_and_signs_in(client, db, aliyun):
    response = client.post(CODES, json={"phone": PHONE})
    assert response.status_code == 202, response.json
    [call] = aliyun.calls
    assert aliyun.methods == ["POST"] and aliyun.paths == ["/"]
    assert call["PhoneNumbers"] == PHONE
    assert call["TemplateCode"] == CODE_TEMPLATE
    assert call["SignName"] == SIGN_NAME
    assert call["Action"] == "SendSms" and call["Version"] == "2017-05-25"
    assert call["Format"] == "JSON" and call["RegionId"] == "cn-hangzhou"
    assert call["SignatureMethod"] == "HMAC-SHA1" and call["SignatureVersion"] == "1.0"
    assert re.fullmatch(r"[0-9a-f-]{36}", call["SignatureNonce"])
    sent_at = datetime.strptime(call["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - sent_at).total_seconds()) < 60
    assert call["Signature"] == _documented_signature(SECRET, "POST", call)
    template_param = json.loads(call["TemplateParam"])
    assert list(template_param) == ["code"]
    code = template_param["code"]
    assert re.fullmatch(r"\d{6}", code)
    signed_in = client.post("/api/v1/auth/sessions", json={"phone": PHONE, "code": code})
    assert signed_in.status_code == 201, signed_in.json


def test_every_request_has_its_own_nonce(aliyun):
    sender = _sender(aliyun)
    sender.send_code(PHONE, "111111")
    sender.send_code(PHONE, "222222")
    assert len({call["SignatureNonce"] for call in aliyun.calls}) == 2


def test_a_wrong_secret_is_refused_by_the_stand_in(aliyun):
    with pytest.raises(SmsFailed) as failed:
        _sender(aliyun, ALIYUN_SMS_ACCESS_KEY_SECRET="not-the-secret").send_code(PHONE, "123456")
    assert failed.value.code == "SignatureDoesNotMatch"
    assert failed.value.retryable is False
    assert failed.value.maybe_sent is False


def test_a_wrong_key_id_is_refused(aliyun):
    with pytest.raises(SmsFailed) as failed:
        _sender(aliyun, ALIYUN_SMS_ACCESS_KEY_ID="LTAI-unknown").send_code(PHONE, "123456")
    assert (failed.value.code, failed.value.retryable) == ("InvalidAccessKeyId.NotFound", False)


# --- notices --------------------------------------------------------------------------------


def test_a_notice_goes_out_with_its_template_code(aliyun):
    _sender(aliyun).send_notice(PHONE, "vote_reminder", {"compound": "望江花园", "days": "3"})
    [call] = aliyun.calls
    assert call["TemplateCode"] == "SMS_460000002"
    assert call["SignName"] == SIGN_NAME
    assert json.loads(call["TemplateParam"]) == {"compound": "望江花园", "days": "3"}
    assert call["Signature"] == _documented_signature(SECRET, "POST", call)


def test_a_notice_of_an_unknown_template_is_not_sent(aliyun):
    with pytest.raises(SmsFailed) as failed:
        _sender(aliyun).send_notice(PHONE, "no_such_notice", {})
    assert (failed.value.code, failed.value.retryable) == ("template_unknown", False)
    assert aliyun.calls == []


def test_console_and_test_senders_take_notices(caplog):
    caplog.set_level(logging.INFO, logger="participation.auth.sms")
    sms.ConsoleSender().send_notice(PHONE, "vote_reminder", {"compound": "望江花园"})
    assert "vote_reminder" in caplog.text and "138****5678" in caplog.text
    assert PHONE not in caplog.text and "望江花园" not in caplog.text
    sender = sms.TestSender()
    sender.send_notice(PHONE, "vote_reminder", {"compound": "望江花园"})
    assert sender.notices == [(PHONE, "vote_reminder", {"compound": "望江花园"})]
    assert sender.outbox == []


# --- failures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider_code", "retryable"),
    [
        ("isp.SYSTEM_ERROR", True),
        ("isv.MOBILE_NUMBER_ILLEGAL", False),
        ("isv.BUSINESS_LIMIT_CONTROL", False),
        ("isv.SMS_TEMPLATE_ILLEGAL", False),
        ("isv.AMOUNT_NOT_ENOUGH", False),
    ],
)
def test_provider_codes_are_failures_retryable_or_not(aliyun, provider_code, retryable):
    aliyun.code = provider_code
    with pytest.raises(SmsFailed) as failed:
        _sender(aliyun).send_code(PHONE, "123456")
    assert failed.value.code == provider_code
    assert failed.value.retryable is retryable
    assert failed.value.maybe_sent is False
    assert provider_code in str(failed.value)


def test_http_500_is_retryable(aliyun):
    aliyun.status = 500
    with pytest.raises(SmsFailed) as failed:
        _sender(aliyun).send_code(PHONE, "123456")
    assert (failed.value.code, failed.value.retryable) == ("InternalError", True)


def test_a_slow_answer_is_a_retryable_timeout_that_may_have_been_sent(aliyun):
    aliyun.delay = 1.0
    with pytest.raises(SmsFailed) as failed:
        _sender(aliyun, ALIYUN_SMS_TIMEOUT_SECONDS=0.2).send_code(PHONE, "123456")
    assert failed.value.code == "timeout"
    assert failed.value.retryable is True
    assert failed.value.maybe_sent is True


def test_an_unreachable_endpoint_is_retryable_and_nothing_went_out(aliyun):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SmsFailed) as failed:
        _sender(aliyun, ALIYUN_SMS_ENDPOINT=f"http://127.0.0.1:{port}").send_code(PHONE, "1")
    assert (failed.value.code, failed.value.retryable) == ("unreachable", True)
    assert failed.value.maybe_sent is False


# --- failures through the API ---------------------------------------------------------------


@pytest.mark.parametrize("failure", ["isp.SYSTEM_ERROR", "http_500"])
def test_a_provider_failure_is_503_and_the_resident_may_ask_again_at_once(
    client, db, aliyun, failure
):
    if failure == "http_500":
        aliyun.status = 500
    else:
        aliyun.code = failure
    refused = client.post(CODES, json={"phone": PHONE})
    assert refused.status_code == 503
    assert refused.json["code"] == "sms_unavailable"
    assert refused.json["message"] == "短信发送失败，请稍后再试"
    assert _codes(db) == 0  # nobody received it: it is gone
    aliyun.reset()
    again = client.post(CODES, json={"phone": PHONE})  # within the minute, not 429
    assert again.status_code == 202, again.json
    code = json.loads(aliyun.calls[-1]["TemplateParam"])["code"]
    signed_in = client.post("/api/v1/auth/sessions", json={"phone": PHONE, "code": code})
    assert signed_in.status_code == 201


def test_a_timeout_is_503_and_the_code_that_may_arrive_still_works(client, db, aliyun):
    aliyun.configure(ALIYUN_SMS_TIMEOUT_SECONDS=0.2)
    aliyun.delay = 1.0
    refused = client.post(CODES, json={"phone": PHONE})
    assert refused.status_code == 503
    assert refused.json["message"] == "短信发送失败，请稍后再试"
    # The stand-in got the request and answers too late: that SMS may reach the phone, and
    # its code still works.
    [call] = aliyun.calls
    code = json.loads(call["TemplateParam"])["code"]
    signed_in = client.post("/api/v1/auth/sessions", json={"phone": PHONE, "code": code})
    assert signed_in.status_code == 201, signed_in.json


def test_the_hourly_limit_still_counts_failed_sends(client, db, aliyun, limits):
    limits(SMS_PER_PHONE_PER_HOUR=2)
    aliyun.code = "isp.SYSTEM_ERROR"
    assert client.post(CODES, json={"phone": PHONE}).status_code == 503
    assert client.post(CODES, json={"phone": PHONE}).status_code == 503
    third = client.post(CODES, json={"phone": PHONE})
    assert third.status_code == 429 and third.json["code"] == "rate_limited"
    assert len(aliyun.calls) == 2


def test_an_illegal_number_is_422(client, db, aliyun):
    aliyun.code = "isv.MOBILE_NUMBER_ILLEGAL"
    refused = client.post(CODES, json={"phone": PHONE})
    assert refused.status_code == 422
    assert refused.json["code"] == "phone_invalid"
    assert "phone" in refused.json["errors"]
    assert re.search(r"[\u4e00-\u9fff]", refused.json["message"])
    assert _codes(db) == 0


def test_the_providers_flow_control_is_429(client, db, aliyun):
    aliyun.code = "isv.BUSINESS_LIMIT_CONTROL"
    refused = client.post(CODES, json={"phone": PHONE})
    assert refused.status_code == 429
    assert refused.json["code"] == "sms_limited"
    assert refused.json["message"] == "该手机号获取验证码过于频繁，请稍后再试"
    assert _codes(db) == 0
    # Our own minute counts too (the provider refuses this number for now anyway).
    aliyun.reset()
    again = client.post(CODES, json={"phone": PHONE})
    assert again.status_code == 429 and again.json["code"] == "rate_limited"


def test_a_misconfigured_account_is_503_too(client, db, aliyun):
    aliyun.configure(ALIYUN_SMS_ACCESS_KEY_SECRET="rotated-away")
    refused = client.post(CODES, json={"phone": PHONE})
    assert refused.status_code == 503
    assert refused.json["code"] == "sms_unavailable"


def test_the_openapi_document_names_the_new_answers(client):
    spec = client.get("/api/v1/openapi.json").json
    responses = spec["paths"][CODES]["post"]["responses"]
    assert {"202", "422", "429", "503"} <= set(responses)
    assert "sms_unavailable" in responses["503"]["description"]


# --- nothing secret in the logs -------------------------------------------------------------


def test_logs_carry_no_secret_no_code_and_no_full_phone(client, db, aliyun, caplog):
    caplog.set_level(logging.DEBUG)
    assert client.post(CODES, json={"phone": PHONE}).status_code == 202
    code = json.loads(aliyun.calls[-1]["TemplateParam"])["code"]
    other = "13900000002"
    aliyun.code = "isp.SYSTEM_ERROR"
    assert client.post(CODES, json={"phone": other}).status_code == 503
    aliyun.configure(ALIYUN_SMS_ACCESS_KEY_SECRET="wrong-secret-0001")
    aliyun.code = "OK"
    assert client.post(CODES, json={"phone": "13900000003"}).status_code == 503
    logged = caplog.text
    for secret in (SECRET, "wrong-secret-0001", code, PHONE, other, "13900000003"):
        assert secret not in logged
    assert "Signature=" not in logged and "string to sign" not in logged
    assert "138****5678" in logged and "139****0002" in logged
    assert "isp.SYSTEM_ERROR" in logged and "SignatureDoesNotMatch" in logged
    assert "F655A8D5-B967-440B-8683-" in logged  # the RequestId, to find the call at Aliyun
    assert SECRET not in repr(aliyun_sms.AliyunSmsSender.from_config(_settings(aliyun.base)))


# --- settings and start -----------------------------------------------------------------------


@pytest.mark.parametrize("missing", aliyun_sms.REQUIRED_SETTINGS)
def test_missing_settings_refuse_the_start(missing):
    with pytest.raises(RuntimeError) as refused:
        sms.make_sender(_settings("http://127.0.0.1:9", **{missing: None}))
    assert f"PARTICIPATION_{missing}" in str(refused.value)
    assert SECRET not in str(refused.value)


def test_the_app_does_not_start_with_aliyun_half_configured(monkeypatch, tmp_path):
    from participation import create_app

    monkeypatch.setenv("PARTICIPATION_SECRET_KEY", "x" * 32)
    monkeypatch.setenv("PARTICIPATION_SMS_SENDER", "aliyun")
    monkeypatch.setenv("PARTICIPATION_ALIYUN_SMS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("PARTICIPATION_ALIYUN_SMS_ACCESS_KEY_SECRET", SECRET)
    with pytest.raises(RuntimeError, match="PARTICIPATION_ALIYUN_SMS_SIGN_NAME"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}"})


def test_settings_come_from_the_environment(monkeypatch):
    from participation import config

    monkeypatch.setenv("PARTICIPATION_SECRET_KEY", "x")
    defaults = config.load()
    assert defaults["ALIYUN_SMS_ENDPOINT"] == "https://dysmsapi.aliyuncs.com"
    assert defaults["ALIYUN_SMS_TIMEOUT_SECONDS"] == 5
    assert defaults["ALIYUN_SMS_ACCESS_KEY_ID"] is None
    for name, value in {
        "SMS_SENDER": "aliyun",
        "ALIYUN_SMS_ACCESS_KEY_ID": KEY_ID,
        "ALIYUN_SMS_ACCESS_KEY_SECRET": SECRET,
        "ALIYUN_SMS_SIGN_NAME": SIGN_NAME,
        "ALIYUN_SMS_CODE_TEMPLATE": CODE_TEMPLATE,
        "ALIYUN_SMS_NOTICE_TEMPLATES": "vote_reminder=SMS_1,ticket_progress=SMS_2",
        "ALIYUN_SMS_TIMEOUT_SECONDS": "3",
    }.items():
        monkeypatch.setenv(f"PARTICIPATION_{name}", value)
    sender = sms.make_sender(config.load())
    assert isinstance(sender, AliyunSmsSender)
    assert sender.notice_templates == {"vote_reminder": "SMS_1", "ticket_progress": "SMS_2"}
    assert (sender.timeout, sender.url) == (3, "https://dysmsapi.aliyuncs.com/")
    monkeypatch.setenv("PARTICIPATION_ALIYUN_SMS_NOTICE_TEMPLATES", "vote_reminder")
    with pytest.raises(ValueError, match="name=code"):
        sms.make_sender(config.load())
