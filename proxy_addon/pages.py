"""The pages the proxy itself answers to a child (warning, help, confirmations): one skeleton, one loader.

Templates are ``string.Template`` files in ``templates/``: ``page.html`` is the skeleton (language, title,
style, body) and each page supplies its body and stylesheet. Callers escape every value they substitute.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


@cache
def stylesheet(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def render_page(body_template: str, *, lang: str, title: str, style: str, **fields: str) -> str:
    """A whole page: ``body_template`` filled with ``fields`` inside the skeleton. ``title`` is escaped by
    the caller; ``style`` names a stylesheet in ``templates/``."""
    body = template(body_template).substitute(lang=lang, title=title, **fields)
    return template("page.html").substitute(lang=lang, title=title, style=stylesheet(style), body=body)
