"""Release notice templates, one per tier (Jinja2 text; the first line is the subject).
The shipped ones live beside this file; ``notices.template_dir`` may override any."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ..domain.money import format_money

SHIPPED = Path(__file__).resolve().parent


class NoticeTemplates:
    """The loaded templates and what they need to render (school, currency)."""

    def __init__(self, *, school: str, currency: str, template_dir: str = ""):
        self.school = school
        self.currency = currency
        folders = [template_dir, str(SHIPPED)] if template_dir else [str(SHIPPED)]
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(folders), autoescape=False,
                                      undefined=jinja2.StrictUndefined, keep_trailing_newline=False)

    def money(self, value: Any) -> str:
        return format_money(value, self.currency)

    def render(self, tier: str, context: dict[str, Any]) -> tuple[str, str]:
        """(subject, body) of a tier's notice."""
        # A change of a trust's school names its own school (``school`` in the context).
        text = self.env.get_template(f"{tier}.txt").render(**{"money": self.money, "school": self.school,
                                                              **context})
        subject, _, body = text.strip().partition("\n")
        return subject.strip()[:300], body.strip()
