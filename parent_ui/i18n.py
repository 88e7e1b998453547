"""English and Vietnamese for the dashboard: a dict catalogue keyed by the English text.

The language comes from the parent's switch (kept in the session), else the browser's Accept-Language.
``_()`` always returns a plain ``str``, so Jinja escapes it (and anything formatted into it) like any text.
"""

from __future__ import annotations

from flask import Blueprint, Flask, has_request_context, redirect, request, session
from flask.typing import ResponseReturnValue

from parent_ui.security import safe_next
from parent_ui.translations_vi import VI

LANGUAGES: dict[str, str] = {"en": "English", "vi": "Tiếng Việt"}
CATALOGUES: dict[str, dict[str, str]] = {"vi": VI}

bp = Blueprint("i18n", __name__)


def current_language() -> str:
    if not has_request_context():  # click commands speak English
        return "en"
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES), default="en") or "en"


def gettext(message: str, **values: object) -> str:
    """``message`` in the current language, with ``{name}`` placeholders filled from ``values``."""
    text = CATALOGUES.get(current_language(), {}).get(message, message)
    return text.format(**values) if values else text


@bp.post("/language")
def set_language() -> ResponseReturnValue:
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")))


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(_=gettext, LANGUAGES=LANGUAGES, current_language=current_language)
