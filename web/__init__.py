"""The fitsflow web application (installed as ``fitsflow.web``)."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify

from fitsflow.config import load_config
from fitsflow.persistence import audit_store
from fitsflow.services.runtime import Runtime, build_runtime


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings from defaults → FITSFLOW_CONFIG file → environment → test overrides."""
    app = Flask(__name__)
    settings = load_config()
    if test_config:
        for section, values in test_config.get("FITSFLOW", {}).items():
            settings.setdefault(section, {}).update(values)
        app.config.update({k: v for k, v in test_config.items() if k != "FITSFLOW"})
    runtime = build_runtime(settings)
    app.extensions["fitsflow"] = runtime

    @app.get("/healthz")
    def healthz() -> Any:
        """Liveness for a reverse proxy or monitor: the database answers, with the audit head."""
        rt: Runtime = app.extensions["fitsflow"]
        with rt.db.read() as session:
            head = audit_store.head(session)
            return jsonify(status="ok", audit_events=head.seq, audit_head=head.hash)

    return app
