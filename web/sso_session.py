"""Which provider, if any, this browser signed in through: signing out offers the
provider's own sign-out (``web.sso`` records it; ``web.auth``'s sign-out asks)."""

from __future__ import annotations

from typing import Any

from flask import current_app, session, url_for

from .login import runtime

SESSION_KEY = "sso_provider"


def offer_end_session() -> Any | None:
    """After signing out here, someone who came through a provider with an end-session
    endpoint is offered to sign out there too (on a shared computer, they should)."""
    name = session.get(SESSION_KEY)
    if not isinstance(name, str) or name not in runtime().settings.sso:
        return None
    from requests import RequestException  # loaded with the provider's client (web.sso)

    client = current_app.extensions["fitsflow_sso"].create_client(name)
    try:
        found = client.create_logout_url(post_logout_redirect_uri=url_for("auth.login", _external=True),
                                         client_id=client.client_id)
    except (RuntimeError, RequestException, ValueError, KeyError):
        return None  # no end-session endpoint (Google has none), or not reachable now
    return {"label": runtime().settings.sso[name].label, "url": found["url"]}
