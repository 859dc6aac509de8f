"""Settings from environment variables (prefix ``PARTICIPATION_``) with safe defaults.

The embedded default needs no services: a SQLite file in ``instance/`` and jobs run inline.
Production sets ``PARTICIPATION_DATABASE_URL`` (PostgreSQL), ``PARTICIPATION_REDIS_URL`` and
real secrets.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

PREFIX = "PARTICIPATION_"
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(PREFIX + name, default)


def _env_int(name: str, default: int, minimum: int | None = None) -> int:
    value = int(_env(name, str(default)))
    if minimum is not None and value < minimum:
        raise ValueError(f"{PREFIX}{name} must be at least {minimum}, not {value}")
    return value


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _persistent_secret(filename: str) -> str:
    """A random secret kept in instance/ so that the embedded default survives restarts.

    Production must set the secret through the environment instead.
    """
    INSTANCE_DIR.mkdir(exist_ok=True)
    path = INSTANCE_DIR / filename
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def load() -> dict:
    """Read the settings. Called once by ``create_app``; tests pass overrides on top."""
    database_url = _env("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'participation.sqlite3'}"
    redis_url = _env("REDIS_URL") or None
    secret_key = _env("SECRET_KEY") or _persistent_secret("secret_key")
    return {
        "SECRET_KEY": secret_key,
        # Keyed hash for ID numbers (业主证件号). Changing it breaks matching of existing owners.
        "ID_HASH_KEY": _env("ID_HASH_KEY") or secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # hide_parameters: SQL errors in logs never carry names, phones or ID hashes. Pooled
        # connections are pinged after sitting idle (extensions.ping_after_idle), not at
        # every checkout, and replaced after half an hour.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 1800, "hide_parameters": True},
        "REDIS_URL": redis_url,
        "RQ_QUEUE": _env("RQ_QUEUE", "participation"),
        # flask worker: a running job's heartbeat (it is taken for dead after three missed)
        # and the sweep that reruns the jobs of dead workers and makes up lost work.
        "JOB_HEARTBEAT_SECONDS": _env_int("JOB_HEARTBEAT_SECONDS", 10, minimum=1),
        "WORKER_SWEEP_SECONDS": _env_int("WORKER_SWEEP_SECONDS", 15, minimum=1),
        "JWT_SECRET_KEY": _env("JWT_SECRET_KEY") or secret_key,
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=min(_env_int("ACCESS_MINUTES", 15), 15)),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=_env_int("REFRESH_DAYS", 14)),
        "JWT_TOKEN_LOCATION": ["headers"],
        # Bearer tokens only: no CSRF claim (it guards cookies) and no nbf (it equals iat).
        # Shorter tokens are cheaper to check on every request.
        "JWT_COOKIE_CSRF_PROTECT": False,
        "JWT_ENCODE_NBF": False,
        "JWT_ERROR_MESSAGE_KEY": "message",
        # Phone sign-in
        "SMS_SENDER": _env("SMS_SENDER", "console"),
        "SMS_CODE_TTL_SECONDS": _env_int("SMS_CODE_TTL_SECONDS", 300),
        "SMS_CODE_MAX_ATTEMPTS": _env_int("SMS_CODE_MAX_ATTEMPTS", 5),
        "SMS_PER_PHONE_PER_MINUTE": _env_int("SMS_PER_PHONE_PER_MINUTE", 1, minimum=1),
        "SMS_PER_PHONE_PER_HOUR": _env_int("SMS_PER_PHONE_PER_HOUR", 5, minimum=1),
        "SMS_PER_ADDRESS_PER_HOUR": _env_int("SMS_PER_ADDRESS_PER_HOUR", 30, minimum=1),
        # SMS_SENDER=aliyun (Alibaba Cloud 短信服务, auth/aliyun_sms.py): the AccessKey pair,
        # the approved sign name (签名), the template code of sign-in codes (variable
        # ``code``), notices' template codes by logical name ("vote_reminder=SMS_1,…"). The
        # endpoint is Aliyun's; tests point it at a stand-in. The ``vote_reminder`` template
        # (votes/tasks.py) has the variables ``compound``, ``title``, ``deadline`` (Beijing
        # time) and ``link`` (the compound's short link: set PUBLIC_BASE_URL, the SMS needs
        # the full address). The ``survey_reminder`` template (surveys/tasks.py) has the
        # same variables: ``compound``, ``title`` (the survey's), ``deadline`` (its closing
        # time, Beijing time) and ``link``.
        "ALIYUN_SMS_ACCESS_KEY_ID": _env("ALIYUN_SMS_ACCESS_KEY_ID") or None,
        "ALIYUN_SMS_ACCESS_KEY_SECRET": _env("ALIYUN_SMS_ACCESS_KEY_SECRET") or None,
        "ALIYUN_SMS_SIGN_NAME": _env("ALIYUN_SMS_SIGN_NAME") or None,
        "ALIYUN_SMS_CODE_TEMPLATE": _env("ALIYUN_SMS_CODE_TEMPLATE") or None,
        "ALIYUN_SMS_NOTICE_TEMPLATES": _env("ALIYUN_SMS_NOTICE_TEMPLATES") or "",
        "ALIYUN_SMS_ENDPOINT": _env("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com"),
        "ALIYUN_SMS_TIMEOUT_SECONDS": _env_int("ALIYUN_SMS_TIMEOUT_SECONDS", 5, minimum=1),
        # Sign-in through WeChat's web authorisation (snsapi_base): off without appid and
        # secret. The two bases are WeChat's hosts; tests point them at a stand-in.
        "WECHAT_APPID": _env("WECHAT_APPID") or None,
        "WECHAT_SECRET": _env("WECHAT_SECRET") or None,
        "WECHAT_OPEN_BASE": _env("WECHAT_OPEN_BASE", "https://open.weixin.qq.com"),
        "WECHAT_API_BASE": _env("WECHAT_API_BASE", "https://api.weixin.qq.com"),
        "WECHAT_TIMEOUT_SECONDS": _env_int("WECHAT_TIMEOUT_SECONDS", 5, minimum=1),
        # How long the one-time sign-in code and the binding ticket handed to the H5 last
        "WECHAT_LOGIN_CODE_SECONDS": _env_int("WECHAT_LOGIN_CODE_SECONDS", 120, minimum=1),
        "WECHAT_BIND_TICKET_SECONDS": _env_int("WECHAT_BIND_TICKET_SECONDS", 1800, minimum=1),
        # Staff passwords: wrong ones allowed per username in 15 minutes, per address an hour
        "PASSWORD_FAILURES_PER_USER": _env_int("PASSWORD_FAILURES_PER_USER", 5, minimum=1),
        "PASSWORD_FAILURES_PER_ADDRESS": _env_int("PASSWORD_FAILURES_PER_ADDRESS", 20, minimum=1),
        # Roster import: files with more rows than this run as a background job.
        "IMPORT_INLINE_MAX_ROWS": _env_int("IMPORT_INLINE_MAX_ROWS", 2000),
        "IMPORT_MAX_BYTES": _env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024),
        "MAX_CONTENT_LENGTH": _env_int("MAX_CONTENT_LENGTH", 25 * 1024 * 1024),
        # Votes
        "VOTE_MAX_PROXIES_PER_PROXY": _env_int("VOTE_MAX_PROXIES_PER_PROXY", 3),
        "VOTE_OBJECTION_DAYS": _env_int("VOTE_OBJECTION_DAYS", 7),
        "NOTIFIER": _env("NOTIFIER", "console"),
        # Complaints and suggestions: tickets a resident may file (per account an hour and a
        # day, per address an hour), and the days a reporter has to confirm a resolution.
        "TICKETS_PER_HOUR": _env_int("TICKETS_PER_HOUR", 5, minimum=1),
        "TICKETS_PER_DAY": _env_int("TICKETS_PER_DAY", 20, minimum=1),
        "TICKETS_PER_ADDRESS_HOUR": _env_int("TICKETS_PER_ADDRESS_HOUR", 30, minimum=1),
        "TICKET_CONFIRM_DAYS": _env_int("TICKET_CONFIRM_DAYS", 7, minimum=1),
        # The notice board: the address printed in QR codes (default: the request's own),
        # the help line on posters, and where batches of posters are kept.
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL") or None,
        "HELP_PHONE": _env("HELP_PHONE", "12345"),
        "POSTER_DIR": _env("POSTER_DIR") or str(INSTANCE_DIR / "posters"),
        # Renovation projects: where their archives (.zip) are kept (projects/tasks.py)
        "ARCHIVE_DIR": _env("ARCHIVE_DIR") or str(INSTANCE_DIR / "archives"),
        # Complaints and suggestions: where the photos of tickets are kept (feedback/storage.py)
        "FEEDBACK_DIR": _env("FEEDBACK_DIR") or str(INSTANCE_DIR / "feedback"),
        "CORS_ORIGINS": [o for o in (_env("CORS_ORIGINS") or "").split(",") if o],
        "PROXY_FIX": _env_bool("PROXY_FIX", False),
        # flask-smorest / OpenAPI
        "API_TITLE": "participation API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "v1/openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/static/",
        "JSON_AS_ASCII": False,
    }
