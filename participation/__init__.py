"""participation: residents' participation in the renovation of old residential compounds."""

from __future__ import annotations

import logging

from flask import Flask, send_from_directory
from flask_smorest.spec.plugins import integerconverter2paramschema

from participation import config as settings
from participation.common.parsing import IdConverter
from participation.common.schemas import decimal_as_string, one_of_nested
from participation.extensions import api, db, jwt, migrate, ping_after_idle
from participation.votes.record import ReceiptConverter, receipt_param_schema


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(settings.INSTANCE_DIR))
    app.config.update(settings.load())
    if config:
        app.config.update(config)
    app.json.ensure_ascii = False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)

    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["receipt"] = ReceiptConverter
    _import_models()
    db.init_app(app)
    with app.app_context():
        ping_after_idle(db.engine)
    migrate.init_app(app, db)
    jwt.init_app(app)
    api.init_app(app)
    api.register_converter(IdConverter, integerconverter2paramschema)
    api.register_converter(ReceiptConverter, receipt_param_schema)
    api.ma_plugin.converter.add_attribute_function(decimal_as_string)
    api.ma_plugin.converter.add_attribute_function(one_of_nested)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )

    from participation.auth import tokens
    from participation.common import http

    tokens.register(jwt)
    http.register(app)
    _register_blueprints(app)
    _register_cli(app)
    _register_docs_assets(app)
    return app


def _import_models() -> None:
    """Every model module, so that ``create_all`` and migrations see all tables."""
    import participation.auth.models
    import participation.feedback.models
    import participation.notices.models
    import participation.projects.models
    import participation.roster.models
    import participation.surveys.models
    import participation.votes.models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from participation.auth.routes import blp as auth_blp
    from participation.auth.routes import staff_blp
    from participation.auth.scoping import resolve_path_objects
    from participation.feedback.open311 import api_blp as open311_keys_blp
    from participation.feedback.open311 import bp as open311_bp
    from participation.feedback.routes import blp as feedback_blp
    from participation.feedback.routes import public_blp as public_feedback_blp
    from participation.h5 import bp as h5_bp
    from participation.notices import services as notices
    from participation.notices.pages import bp as notice_pages_bp
    from participation.notices.routes import blp as notices_blp
    from participation.notices.routes import public_blp as public_notices_blp
    from participation.projects.routes import blp as projects_blp
    from participation.projects.routes import public_blp as public_projects_blp
    from participation.roster.routes import blp as roster_blp
    from participation.roster.routes import public_blp
    from participation.surveys.routes import blp as surveys_blp
    from participation.surveys.routes import public_blp as public_surveys_blp
    from participation.votes.routes import blp as votes_blp
    from participation.votes.routes import public_blp as public_votes_blp
    from participation.workbench import bp as workbench_bp

    for blueprint in (
        auth_blp,
        staff_blp,
        roster_blp,
        public_blp,
        votes_blp,
        public_votes_blp,
        surveys_blp,
        public_surveys_blp,
        feedback_blp,
        public_feedback_blp,
        open311_keys_blp,
        notices_blp,
        public_notices_blp,
        projects_blp,
        public_projects_blp,
    ):
        api.register_blueprint(blueprint, url_prefix="/api/v1")
        # On the app, not the shared blueprint: a second app (the H5 browser test's live
        # server) may be created in the same process.
        app.before_request_funcs.setdefault(blueprint.name, []).append(resolve_path_objects)
    app.register_blueprint(h5_bp)  # resident H5 pages: plain Flask, not in the API document
    app.register_blueprint(workbench_bp)  # the committee's workbench pages: the same
    app.register_blueprint(notice_pages_bp)  # the printable public notices
    app.register_blueprint(open311_bp)  # GeoReport v2 for city systems: the spec's shapes
    notices.connect_campaign_events()


def _register_cli(app: Flask) -> None:
    from participation.auth.cli import users_cli
    from participation.common.cli import worker_command
    from participation.demo import demo_cli
    from participation.feedback.cli import feedback_cli
    from participation.projects.cli import projects_cli
    from participation.surveys.cli import surveys_cli
    from participation.votes.cli import votes_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(votes_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(surveys_cli)
    app.cli.add_command(feedback_cli)
    app.cli.add_command(projects_cli)
    app.cli.add_command(worker_command)


def _register_docs_assets(app: Flask) -> None:
    """Swagger UI's files come from the swagger-ui-bundle package: no CDN needed."""
    from swagger_ui_bundle import swagger_ui_path

    @app.get("/api/docs/static/<path:filename>")
    def swagger_ui_asset(filename: str):
        return send_from_directory(swagger_ui_path, filename, max_age=86400)
