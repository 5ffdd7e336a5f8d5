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


def test_server_processes_starting_together_share_one_whole_secret_key(tmp_path):
    """gunicorn starts its workers at once: none may read a half-written key file."""
    import threading

    from fitsflow.web import _secret_key

    from fitsflow.config import WebSettings

    web = WebSettings(secret_key_file=str(tmp_path / "secret.key"))
    keys: list[str] = []
    starters = [threading.Thread(target=lambda: keys.append(_secret_key(web))) for _ in range(20)]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    assert len(keys) == 20 and len(set(keys)) == 1 and len(keys[0]) > 40
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_a_change_link_is_the_address_flask_builds_for_it(tmp_path):
    """Lists link each change through a prefix built once a request: the same address as
    ``url_for`` gives, behind a proxy's path too, for any reference."""
    from flask import url_for

    from web.filters import change_url

    settings = load_settings(environ={"FITSFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
                                      "FITSFLOW_WEB_SECRET_KEY_FILE": str(tmp_path / "secret.key")})
    app = create_app(build_runtime(settings), {"TESTING": True})
    refs = ["CHG-2026-0001", "a b", "x/y", "é?#%&=+", "-"]
    for root in ("", "/fitsflow"):
        with app.test_request_context("/changes", base_url=f"http://school.example{root}"):
            for ref in refs:
                assert change_url(ref) == url_for("changes.show", ref=ref), (root, ref)
            assert change_url("CHG-1").startswith(f"{root}/changes/")
