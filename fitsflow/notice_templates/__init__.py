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
        self.template_dir = template_dir
        self.env = self._env([template_dir, str(SHIPPED)] if template_dir else [str(SHIPPED)])
        self._schools: dict[str, jinja2.Environment] = {}

    @staticmethod
    def _env(folders: list[str]) -> jinja2.Environment:
        return jinja2.Environment(loader=jinja2.FileSystemLoader(folders), autoescape=False,
                                  undefined=jinja2.StrictUndefined, keep_trailing_newline=False)

    def _of(self, school_slug: str) -> jinja2.Environment:
        """A school's templates: a folder named by its short name inside ``template_dir``
        overrides the trust's there, which override the shipped ones, template by template."""
        if not self.template_dir or not school_slug:
            return self.env
        own = Path(self.template_dir) / school_slug
        if not own.is_dir():
            return self.env
        if school_slug not in self._schools:
            self._schools[school_slug] = self._env([str(own), self.template_dir, str(SHIPPED)])
        return self._schools[school_slug]

    def money(self, value: Any) -> str:
        return format_money(value, self.currency)

    def render(self, tier: str, context: dict[str, Any], school_slug: str = "") -> tuple[str, str]:
        """(subject, body) of a tier's notice, from the school's own template when it has one."""
        # A change of a trust's school names its own school (``school`` in the context).
        values = {"money": self.money, "school": self.school, **context}
        text = self._of(school_slug).get_template(f"{tier}.txt").render(**values)
        subject, _, body = text.strip().partition("\n")
        return subject.strip()[:300], body.strip()
