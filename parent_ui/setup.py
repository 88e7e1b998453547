"""First run: the parent's password, the children's names and the family's country. Until it is done
nothing else is served."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from alert_store import SettingKey, StoreError
from alert_store.helplines import COUNTRIES, OTHER
from notalone.config import convert
from parent_ui.auth import is_setup_done, password_problem, set_password, start_session
from parent_ui.db import get_db
from parent_ui.i18n import gettext as _
from parent_ui.settings import CONFIG_FIELDS, Form, current_settings, in_force, parse_config_fields

bp = Blueprint("setup", __name__)

MAX_CHILDREN = 20


def parse_children(raw: str) -> list[str]:
    """One name per line (or comma-separated), blanks dropped, duplicates kept once, order kept."""
    names = [part.strip() for line in raw.splitlines() for part in line.split(",")]
    return list(dict.fromkeys(name for name in names if name))


def _help_choice(fields: dict[str, str]) -> dict[str, str]:
    """The country to store (checked already), even when it is config.toml's: the child's pages read it
    from the store; for "other", the two numbers with it."""
    typed = {
        CONFIG_FIELDS[name]: convert(CONFIG_FIELDS[name], value, "setup") for name, value in fields.items()
    }
    chosen = in_force()[0].with_values(typed)
    values = {SettingKey.COUNTRY: chosen.help.country}
    if chosen.help.country == OTHER:
        values |= {SettingKey.CHILD_LINE: chosen.help.child_line, SettingKey.EMERGENCY: chosen.help.emergency}
    return values


@bp.route("/setup", methods=("GET", "POST"))
def setup() -> ResponseReturnValue:
    if is_setup_done():
        return redirect(url_for("auth.login"))
    errors: list[str] = []
    children_raw = request.form.get("children", "")
    if request.method == "POST":
        problem = password_problem(request.form.get("password", ""), request.form.get("confirm", ""))
        if problem:
            errors.append(problem)
        names = parse_children(children_raw)
        if not names:
            errors.append(_("Add at least one child's name."))
        elif len(names) > MAX_CHILDREN:
            errors.append(_("At most {n} children.", n=MAX_CHILDREN))
        elif any(len(name) > 60 for name in names):
            errors.append(_("A child's name can have at most 60 characters."))
        help_fields = {k: v for k, v in request.form.items() if k in ("country", "child_line", "emergency")}
        country = Form()
        parse_config_fields(help_fields, in_force()[0], country)
        errors += country.errors.values()
        if not errors:
            store = get_db()
            try:
                for name in names:
                    store.add_child(name)
            except StoreError as exc:
                errors.append(str(exc))
            else:
                for key, value in _help_choice(help_fields).items():
                    store.set_setting(key, value)
                set_password(request.form["password"])
                start_session()
                return redirect(url_for("alerts.index"))
    return render_template(
        "setup.html",
        errors=errors,
        children=children_raw,
        form=request.form,
        s=current_settings(),
        countries=sorted(COUNTRIES.values(), key=lambda h: h.name),
        other=OTHER,
    ), 400 if errors else 200
