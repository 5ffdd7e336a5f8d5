"""Sign in with the school's Google Workspace, Microsoft Entra ID or any OpenID Connect
provider (``[sso.NAME]`` settings), with Authlib's Flask client as its documentation shows:
the authorisation code flow with PKCE (S256), ``state`` and ``nonce`` kept in the session,
the ID token checked against the provider's JWKS (fetched again when a new key id appears)
for its signature, issuer, audience, expiry and nonce. What the claims mean here is
``services.sso``'s."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from fitsflow.domain.errors import NotFound, NotPermitted, Stale
from fitsflow.services import sso as service

from .access import PUBLIC, SIGNED_IN, access
from .auth import signed_in
from .login import actor, runtime
from .sso_session import SESSION_KEY

bp = Blueprint("sso", __name__)
log = logging.getLogger("fitsflow.sso")
_NEXT_KEY = "sso_next"
_LINK_KEY = "sso_link"


def init_app(app: Flask) -> None:
    """One Authlib client per configured provider, for this app only (tests build many).
    Authlib, requests and the JOSE library are loaded only where a provider is configured
    (20 MB a worker process otherwise carries for nothing); without one, every route here is
    a 404 before any of them is needed."""
    providers = app.extensions["fitsflow"].settings.sso
    app.extensions["fitsflow_sso"] = None
    app.register_blueprint(bp)

    @app.context_processor
    def sign_in_providers() -> dict[str, Any]:
        return {"sso_providers": service.providers(app.extensions["fitsflow"])}

    if not providers:
        return
    from authlib.integrations.flask_client import OAuth

    oauth = OAuth(app)
    for name, config in providers.items():
        issuer = config.issuer.rstrip("/")
        oauth.register(name, client_id=config.client_id, client_secret=config.client_secret,
                       server_metadata_url=f"{issuer}/.well-known/openid-configuration",
                       client_kwargs={"scope": " ".join(config.scopes), "code_challenge_method": "S256",
                                      "timeout": 10})
    app.extensions["fitsflow_sso"] = oauth


def _client(name: str) -> Any:
    try:
        service.provider(runtime(), name)
    except NotFound:
        abort(404)
    return current_app.extensions["fitsflow_sso"].create_client(name)


def _refused(name: str, reason: str, status: int) -> Any:
    label = runtime().settings.sso[name].label
    return render_template("login.html", error=f"Signing in with {label} did not work: {reason}",
                           email=""), status


@bp.get("/login/sso/<name>")
@access(PUBLIC)
def start(name: str) -> Any:
    """Off to the provider, with a fresh state, nonce and PKCE verifier kept in this
    browser's session."""
    client = _client(name)
    session[_NEXT_KEY] = request.args.get("next", "")[:2000]
    return _to_provider(client, name) or \
        _refused(name, "the provider cannot be reached just now; try again in a minute", 503)


def _to_provider(client: Any, name: str) -> Any | None:
    """The redirect to the provider's authorisation page (state, nonce and PKCE verifier kept
    in the session), or None when its metadata cannot be read now."""
    from requests import RequestException

    try:
        return client.authorize_redirect(url_for("sso.callback", name=name, _external=True))
    except (RequestException, ValueError, KeyError, TypeError, RuntimeError) as err:
        log.warning("sign-in provider %s unreachable: %s", name, err)
        return None


@bp.get("/login/sso/<name>/callback")
@access(PUBLIC)
def callback(name: str) -> Any:
    """Back from the provider: the code exchanged (with the verifier), the ID token checked,
    then the person signed in here, or told why not."""
    from authlib.integrations.base_client import OAuthError
    from joserfc.errors import JoseError
    from requests import RequestException

    client = _client(name)
    issuer = runtime().settings.sso[name].issuer
    linking = session.pop(_LINK_KEY, None)
    try:
        token = client.authorize_access_token(claims_options={
            "iss": {"essential": True, "values": [issuer, issuer.rstrip("/")]},
            "aud": {"essential": True, "values": [client.client_id]}})
    except OAuthError as err:
        # The provider's own words come in the address, which anyone can write: logged, not shown.
        service.stopped(runtime(), name=name, address=request.remote_addr or "",
                        reason=f"{err.error} {err.description or ''}".strip())
        reason = "this sign-in has expired or was already used: start again" \
            if err.error in ("mismatching_state", "invalid_grant") else "the provider refused it: start again"
        return _refused(name, reason, 400)
    except JoseError as err:
        service.stopped(runtime(), name=name, address=request.remote_addr or "", reason=f"ID token: {err}")
        return _refused(name, "the provider's answer could not be trusted (its ID token did not check "
                              "out): start again, and tell your administrator if it happens again", 400)
    except (RequestException, ValueError, KeyError, TypeError, RuntimeError) as err:
        log.warning("sign-in provider %s failed: %s", name, err)
        return _refused(name, "the provider cannot be reached just now; try again in a minute", 503)
    claims = token.get("userinfo") if isinstance(token, dict) else None
    if not claims:
        return _refused(name, "the provider sent no ID token", 400)
    target = session.pop(_NEXT_KEY, "")
    me = current_user.actor.id if current_user.is_authenticated else None
    try:
        found = service.sign_in(runtime(), name=name, claims=dict(claims), address=request.remote_addr or "",
                                linking=linking if linking is not None and linking == me else None)
    except NotPermitted as err:
        return _refused(name, str(err), 403)
    except Stale:
        return _refused(name, "you are signing in twice at once: try again", 409)
    response = signed_in(found, target)
    session[SESSION_KEY] = name
    return response


@bp.post("/account/sso/<name>/link")
@access(SIGNED_IN)
def link(name: str) -> Any:
    """Link my account at the provider to this one (someone with a second factor or an
    approver's role links only so, signed in with it first); then off to the provider."""
    client = _client(name)
    session[_LINK_KEY] = actor().id
    session[_NEXT_KEY] = url_for("auth.account")
    found = _to_provider(client, name)
    if found is None:
        flash("The provider cannot be reached just now; try again in a minute.")
        return redirect(url_for("auth.account"))
    return found
