"""Calendar feeds: the secret .ics address a calendar app subscribes to, and making and
revoking one on the account page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, request, url_for

from fitsflow.domain.errors import InvalidInput
from fitsflow.services import feeds

from .access import PUBLIC, SIGNED_IN, access
from .auth import account_page
from .login import actor, runtime

bp = Blueprint("feeds", __name__)


@bp.get("/calendar/feed/<token>.ics")
@access(PUBLIC)
def feed(token: str) -> Any:
    """The feed (the address is the credential); answers If-None-Match with 304."""
    found = feeds.render(runtime(), token=token)
    if found is None:
        return Response("no such calendar feed (revoked, or the address is wrong)\n", 404,
                        mimetype="text/plain")
    headers = {"ETag": found.etag, "Cache-Control": "private, no-cache"}
    if found.etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        return Response(status=304, headers=headers)
    return Response(found.body, 200, headers=headers, mimetype="text/calendar",
                    content_type="text/calendar; charset=utf-8")


@bp.post("/account/feeds")
@access(SIGNED_IN)
def create() -> Any:
    """Make a feed address; it is shown once, in this answer."""
    try:
        token = feeds.create_feed(runtime(), user_id=actor().id, kind=request.form.get("kind", ""))
    except InvalidInput as err:
        return account_page(400, feed_problems=err.problems)
    return account_page(201, new_feed=url_for("feeds.feed", token=token, _external=True))


@bp.post("/account/feeds/<int:feed_id>/revoke")
@access(SIGNED_IN)
def revoke(feed_id: int) -> Any:
    """Revoke a feed address: calendar apps using it get nothing more."""
    feeds.revoke_feed(runtime(), user_id=actor().id, feed_id=feed_id)
    flash("Calendar feed revoked.")
    return redirect(url_for("auth.account"))
