"""Template filters: money, dates in the school's zone, sanitised Markdown."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import markdown as md
import nh3
from flask import Flask, current_app
from markupsafe import Markup

VIEWER_ROLES = frozenset({"requester", "cab", "slt", "finance", "head", "auditor", "admin"})
APPROVER_ROLES = frozenset({"cab", "slt", "finance", "head"})
ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "code", "pre", "blockquote", "h3", "h4",
                "a", "hr"}


def render_markdown(text: str) -> Markup:
    """User Markdown as HTML with everything but a small safe set of tags removed."""
    html = md.markdown(text or "", extensions=["sane_lists"], output_format="html")
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                            url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer"))


def money(value: Decimal | int | float | None) -> str:
    symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(current_app.config["CURRENCY"], "")
    return f"{symbol}{Decimal(value or 0):,.2f}"


def when(value: datetime | str | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    tz = current_app.extensions["fitsflow"].timezone
    return value.astimezone(tz).strftime("%a %d %b %Y, %H:%M")


def register(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["human"] = lambda s: str(s).replace("_", " ")

    @app.context_processor
    def globals_() -> dict[str, Any]:
        from flask_login import current_user

        roles = current_user.roles if current_user.is_authenticated else frozenset()
        return {"school": app.config["SCHOOL_NAME"], "roles": roles,
                "can_view": bool(roles & VIEWER_ROLES), "is_approver": bool(roles & APPROVER_ROLES),
                "is_auditor": bool(roles & {"auditor", "admin"})}
