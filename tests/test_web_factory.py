"""The app factory builds on the same runtime as the CLI."""

from __future__ import annotations

from fitsflow.web import create_app


def test_health_reports_the_audit_head(tmp_path, monkeypatch):
    monkeypatch.setenv("FITSFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("FITSFLOW_WEB_SECRET_KEY_FILE", str(tmp_path / "secret.key"))
    app = create_app({"TESTING": True})
    app.extensions["fitsflow"].db.create_all()
    body = app.test_client().get("/healthz").get_json()
    assert body == {"status": "ok", "audit_events": 0, "audit_head": "0" * 64}
