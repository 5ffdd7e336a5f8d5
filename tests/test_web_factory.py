"""The app factory serves the runtime it is given."""

from __future__ import annotations

from fitsflow.web import create_app

from fitsflow.bootstrap import build_runtime
from fitsflow.config import load_settings


def test_health_answers_ok_on_the_runtime_it_was_given(tmp_path):
    settings = load_settings(environ={"FITSFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
                                      "FITSFLOW_WEB_SECRET_KEY_FILE": str(tmp_path / "secret.key")})
    app = create_app(build_runtime(settings), {"TESTING": True})
    app.extensions["fitsflow"].db.create_all()
    body = app.test_client().get("/healthz").get_json()
    assert body == {"status": "ok"}  # the audit head is for signed-in auditors and admins
    assert (tmp_path / "secret.key").exists()
