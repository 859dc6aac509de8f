"""Extension objects, created unbound and initialised by ``create_app``."""

from __future__ import annotations

import select
import time

import jwt as pyjwt
from flask import has_request_context, request
from flask_jwt_extended import JWTManager
from flask_jwt_extended.config import config as jwt_config
from flask_jwt_extended.default_callbacks import default_decode_key_callback
from flask_jwt_extended.tokens import _decode_jwt
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from participation.common.errors import ErrorSchema, error_payload
from participation.common.parsing import PAGINATION_HEADER_DOC

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class OneDecodeJWTManager(JWTManager):
    """flask-jwt-extended, decoding a token once instead of three times.

    Upstream decodes every token twice unverified, to hand its header and claims to a
    ``decode_key_loader``, then once verified; PyJWT checks every character of every segment
    in Python at each decode, a tenth of a cast's CPU in all. With the default key loader
    (one secret, this app's case) the key does not depend on the token: one verified decode
    does, with the same arguments and errors as upstream's (``_decode_jwt_from_config`` of
    flask-jwt-extended 4.7, pinned in pyproject.toml)."""

    def _decode_jwt_from_config(self, encoded_token, csrf_value=None, allow_expired=False):
        if self._decode_key_callback is not default_decode_key_callback:
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        arguments = {
            "algorithms": jwt_config.decode_algorithms,
            "audience": jwt_config.decode_audience,
            "csrf_value": csrf_value,
            "encoded_token": encoded_token,
            "identity_claim_key": jwt_config.identity_claim_key,
            "issuer": jwt_config.decode_issuer,
            "leeway": jwt_config.leeway,
            "secret": jwt_config.decode_key,
            "verify_aud": jwt_config.decode_audience is not None,
            "verify_sub": jwt_config.verify_sub,
        }
        try:
            return _decode_jwt(**arguments, allow_expired=allow_expired)
        except pyjwt.ExpiredSignatureError as error:  # upstream's expired-token callback args
            error.jwt_header = pyjwt.get_unverified_header(encoded_token)
            error.jwt_data = _decode_jwt(**arguments, allow_expired=True)
            raise


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
jwt = OneDecodeJWTManager()


class ParticipationApi(Api):
    """flask-smorest's Api with the project's error format (see DESIGN.md, Errors)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_pagination_header(self):
        """``X-Pagination`` is JSON text in a header: a string, not an object."""
        self.spec.components.header("PAGINATION", PAGINATION_HEADER_DOC)

    def handle_http_exception(self, error):
        payload, headers = error_payload(error)
        return payload, error.code, headers


api = ParticipationApi()


SQLITE_BUSY_TIMEOUT_MS = 10_000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys and let SQLAlchemy (not pysqlite) manage transactions,
    so that SAVEPOINTs and BEGIN behave as on PostgreSQL. WAL lets requests read while a
    long write (an inline roster import) holds the write lock; other writers wait for it up
    to the busy timeout, then get 503 with Retry-After (``common.http``)."""
    module = type(dbapi_connection).__module__
    if "sqlite" not in module:
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _may_write() else "BEGIN")


def _may_write() -> bool:
    """Whether a SQLite transaction takes the write lock when it begins: requests that may
    write, and work outside a request (jobs, commands). A deferred transaction that reads
    and then writes after another writer committed is refused at once ("database is
    locked", the busy timeout does not help); taking the lock first makes it wait its turn
    instead. Reads (GET) stay deferred, so they go on during a long write."""
    return not has_request_context() or request.method not in ("GET", "HEAD", "OPTIONS")


# Connections idle this long are pinged when checked out again (see ``ping_after_idle``).
IDLE_PING_SECONDS = 10.0


def ping_after_idle(engine: Engine) -> None:
    """Check a pooled connection at checkout without a round trip on every request (as
    ``pool_pre_ping`` would do, the cast path included):

    - its socket is polled (one ``poll`` system call, no round trip): a connection the
      database dropped (``pg_terminate_backend``, a restart, a failover that closes it) has
      the server's goodbye waiting on it, and is pinged, found dead and replaced before use;
    - a connection idle for ``IDLE_PING_SECONDS`` is pinged as well (a firewall or a host
      that vanished without closing it); a failed ping then invalidates the whole pool.

    So after the database drops the app's connections, the next requests succeed. A
    connection lost in the middle of a request still fails that request (and invalidates
    the pool); the client retries it (casts with their Idempotency-Key)."""
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _note_idle(dbapi_connection, record):
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _check_on_checkout(dbapi_connection, record, proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None:  # just connected
            return
        if time.monotonic() - idle_since >= IDLE_PING_SECONDS:
            try:
                dialect.do_ping(dbapi_connection)
            except Exception as error:  # the driver's own error: the connection is gone
                raise exc.InvalidatePoolError() from error
        elif _has_input(dbapi_connection):
            try:
                dialect.do_ping(dbapi_connection)
            except Exception as error:  # dropped by the server: replace this connection
                raise exc.DisconnectionError() from error


def _has_input(dbapi_connection) -> bool:
    """Whether the server sent something on an idle connection (between requests it has
    nothing to say unless it is closing the connection). Drivers without a socket (SQLite)
    never have."""
    fileno = getattr(dbapi_connection, "fileno", None)
    if fileno is None:
        return False
    try:
        poller = select.poll()
        poller.register(fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except Exception:  # closed already
        return True
