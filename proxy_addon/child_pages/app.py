"""The child's pages at ``notalone.home.arpa``: the help page, the warning page and its three choices, what
NotAlone does (the transparency page) and the device set-up page with the NotAlone certificate.

One small Flask app; :class:`proxy_addon.child_pages.addon.ChildPages` serves it from inside the proxy, the
way mitmproxy serves mitm.it. ``home.arpa`` is reserved for home networks (RFC 8375), so the host can never
be somebody else's site.

Every field a page, a chat or the child's device sends is hostile. A scam site's own script must not be
able to act for the child: every action is a POST that must come from a real click on one of these pages
(``Sec-Fetch-Site: same-origin``, ``Sec-Fetch-Mode: navigate``, ``Sec-Fetch-User: ?1``, ``Sec-Fetch-Dest:
document`` and ``Origin: https://notalone.home.arpa``; browsers send these only over https, so every page
but the device set-up redirects there) and carry a form token bound to the device (and to the warning).
Pages cannot be framed and load nothing from anywhere else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, current_app, g, redirect, render_template, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadData, URLSafeTimedSerializer

from alert_store import Alert, AlertStore, DataDir, SettingKey, signing
from alert_store.helplines import (
    COUNTRIES,
    DEFAULT_COUNTRY,
    HelplineError,
    Helplines,
    helplines_for,
    valid_phone,
)
from proxy_addon.child_pages.rate_limit import RateLimit
from proxy_addon.child_pages.texts import LANGUAGES, MESSAGES, TOPIC_LABELS, TOPICS, lessons, scenario_of
from proxy_addon.child_pages.warnings import Grants, PendingChoice, WarnedPage, WarnedPages
from proxy_addon.identity import Identity

log = logging.getLogger("notalone")

HOST = signing.CHILD_PAGES_HOST
ORIGIN = f"https://{HOST}"
HELP_URL = f"{ORIGIN}/"
NOTE_MAX_CHARS = 1000
APP_MAX_CHARS = 100
FORM_MAX_BYTES = 16 * 1024
REPORTS_PER_HOUR = 10
FORM_TOKEN_MAX_AGE_S = 2 * 3600
FORM_PURPOSE = "child-form"
CA_FILE = "mitmproxy-ca-cert.pem"  # the public certificate in mitmproxy's confdir (never the key)
# The parent's choice of country for the helplines (alert_store/helplines.py); "other" takes typed numbers.
COUNTRY_KEY, CHILD_LINE_KEY, EMERGENCY_KEY = "help.country", "help.child_line", "help.emergency"
# Pages served over plain http too: a device without the NotAlone certificate yet cannot open https ones.
PLAIN_HTTP_ENDPOINTS = frozenset({"pages.enrol", "pages.enrol_ca", "static"})
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
# What a browser sends with a form submitted by a click on one of these pages (over https only); a page's
# script cannot send them for a request to this origin.
CLICK_HEADERS = {
    "Sec-Fetch-Site": "same-origin",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-User": "?1",
    "Sec-Fetch-Dest": "document",
    "Origin": ORIGIN,
}
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: a POST with no-referrer would carry "Origin: null"
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@dataclass(frozen=True)
class HelpRequest:
    """What a child asked for, ready to become an alert (and, from a warning page, a recorded choice)."""

    alert: Alert
    lesson: str
    warning_id: str | None = None  # asked from this warning: "told_parent" is recorded against its alert


@dataclass
class PagesState:
    """What the proxy lends the app: its warnings and grants, the help rate limit, and who is asking."""

    warned: WarnedPages
    grants: Grants
    identity: Callable[[], Identity | None]
    limit: RateLimit = field(default_factory=lambda: RateLimit(REPORTS_PER_HOUR, 3600))
    store_failures: int = 0  # in memory too: the store may be the very thing that is failing
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, database: Path, help_request: HelpRequest) -> int:
        """The alert, the choice from a warning and the counter, in one connection of its own."""
        with AlertStore(database) as store:
            alert_id = store.add(help_request.alert)
            if help_request.warning_id is not None:
                told = PendingChoice(
                    child=help_request.alert.child,
                    choice="told_parent",
                    device=help_request.alert.device,
                    url=help_request.alert.url,
                )
                # Asked before the model's alert for the page is written: the choice waits for it.
                self.warned.record_or_defer(store, help_request.warning_id, told)
            store.increment("help.received")
        return alert_id

    def failed(self) -> int:
        with self._lock:
            self.store_failures += 1
            return self.store_failures


bp = Blueprint("pages", __name__)


def create_app(state: PagesState, test_config: dict[str, Any] | None = None) -> Flask:
    """``DATA_DIR`` (the database and the signing secret) and ``CONFDIR`` (the CA) are set by the addon's
    ``configure``, as mitmproxy's onboarding app gets its ``CONFDIR``."""
    app = Flask(__name__)
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    app.config.from_mapping(DATA_DIR=None, CONFDIR=None, MAX_CONTENT_LENGTH=FORM_MAX_BYTES)
    app.config.update(test_config or {})
    app.extensions["notalone"] = state
    app.register_blueprint(bp)
    app.before_request(_only_through_the_proxy)
    app.after_request(_security_headers)
    app.teardown_appcontext(_close_db)
    return app


# -- plumbing ----------------------------------------------------------------------------------------------
def _state() -> PagesState:
    return current_app.extensions["notalone"]


def _identity() -> Identity:
    identity = g.get("identity")
    assert identity is not None, "set by _only_through_the_proxy"
    return identity


def _data_dir() -> Path:
    data_dir = current_app.config["DATA_DIR"]
    if not data_dir:
        raise RuntimeError("the child pages have no data directory yet")
    return Path(data_dir)


def _db() -> AlertStore:
    if "db" not in g:
        g.db = AlertStore(DataDir(_data_dir()).database)
    return g.db


def _close_db(error: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def _only_through_the_proxy() -> ResponseReturnValue | None:
    """Who is asking comes from the proxy, never from the request; pages are navigations over https."""
    identity = _state().identity()
    if identity is None:
        abort(403)
    g.identity = identity
    if request.endpoint == "static":
        return None
    fetch_mode = request.headers.get("Sec-Fetch-Mode")
    if fetch_mode is not None and fetch_mode != "navigate":  # a script's fetch(): nothing to read here
        _count("child_pages.refused_script")
        abort(403)
    if request.scheme.lower() != "https" and request.endpoint not in PLAIN_HTTP_ENDPOINTS:
        if request.method in ("GET", "HEAD"):
            return redirect(ORIGIN + request.full_path.rstrip("?"), code=302)
        abort(403)
    return None


def _security_headers(response: Any) -> Any:
    response.headers.update(SECURITY_HEADERS)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _real_navigation() -> bool:
    """True only for a form the child submitted by a click on one of these pages."""
    return request.scheme.lower() == "https" and all(
        request.headers.get(name) == value for name, value in CLICK_HEADERS.items()
    )


def _form_signer() -> URLSafeTimedSerializer:
    signer = current_app.extensions.get("notalone.form_signer")
    if signer is None:
        signer = current_app.extensions["notalone.form_signer"] = signing.signer(_data_dir(), FORM_PURPOSE)
    return signer


def _form_token(device: str, warning_id: str = "") -> str:
    return _form_signer().dumps([device, warning_id])


def _valid_form_token(token: str, device: str, warning_id: str = "") -> bool:
    try:
        return _form_signer().loads(token, max_age=FORM_TOKEN_MAX_AGE_S) == [device, warning_id]
    except BadData:
        return False


def _count(name: str) -> None:
    try:
        _db().increment(name)
    except Exception as e:  # counting must never cost the child an answer
        log.warning("NotAlone: could not count %s: %r", name, e)


def _lang(*hints: str, fallback: str = "") -> str:
    """An explicit ``?lang=`` (or form) choice, then ``hints`` (a warned page's declared language), then
    the browser's preferences, then ``fallback`` (the language the model detected); English otherwise."""
    for candidate in (request.args.get("lang", ""), request.form.get("lang", ""), *hints):
        tag = candidate.strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    best = request.accept_languages.best_match(LANGUAGES)
    if best:
        return best
    return fallback[:2].lower() if fallback[:2].lower() in LANGUAGES else "en"


def _helplines() -> Helplines:
    """The parent's country's child helpline and emergency number; Vietnam's until the parent chooses."""
    try:
        settings = _db().settings()
        if COUNTRY_KEY not in settings and settings.get(SettingKey.HELPLINE):
            # Before the parent picks a country: config.toml's [help] helpline, written here by `notalone up`.
            default = COUNTRIES[DEFAULT_COUNTRY]
            number = valid_phone(str(settings[SettingKey.HELPLINE]))
            if number != default.child_line:
                return replace(default, child_line=number, child_line_name="")
        return helplines_for(
            str(settings.get(COUNTRY_KEY) or DEFAULT_COUNTRY),
            str(settings.get(CHILD_LINE_KEY) or ""),
            str(settings.get(EMERGENCY_KEY) or ""),
        )
    except HelplineError as e:
        log.warning("NotAlone: the helpline setting is unusable, showing the default: %s", e)
    except Exception as e:  # the store is down: the child still gets numbers to call
        log.warning("NotAlone: could not read the helpline setting: %r", e)
    return COUNTRIES[DEFAULT_COUNTRY]


def _render(template: str, lang: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    return (
        render_template(
            template,
            lang=lang,
            other_lang="vi" if lang == "en" else "en",
            t=MESSAGES[lang],
            helplines=_helplines(),
            **context,
        ),
        status,
    )


RESULT_STATUS = {"thanks": 200, "limited": 429, "failed": 503, "expired": 403, "refused": 403}


def _result(
    lang: str, result: str, *, lesson: str | None = None, warning: WarnedPage | None = None
) -> ResponseReturnValue:
    """The answer to a help request. Every one shows the helplines: the child is never at a dead end."""
    back_token = _form_token(_identity().device, warning.id) if warning is not None else ""
    return _render(
        "result.html",
        lang,
        RESULT_STATUS[result],
        result=result,
        lessons=lessons(lang, lesson) if result == "thanks" and lesson else (),
        warning=warning,
        back_token=back_token,
    )


def _own_warning(warning_id: str) -> WarnedPage | None:
    """The warning, if it is still open and was shown to this very device."""
    page = _state().warned.get(warning_id[:64])
    return page if page is not None and page.device == _identity().device else None


def _child_raised(identity: Identity, **details: Any) -> Alert:
    """A help alert the child raised: always high severity, always the child's own."""
    return Alert(
        child=identity.child,
        device=identity.device,
        category="help",
        severity="high",
        probability=1.0,
        source="child",
        **details,
    )


def _submit(lang: str, help_request: HelpRequest, warning: WarnedPage | None = None) -> ResponseReturnValue:
    identity, state = _identity(), _state()
    if not state.limit.take(identity.device):
        _count("help.rate_limited")
        log.warning(
            "NotAlone: help request from %s refused, over %d an hour", identity.device, state.limit.limit
        )
        return _result(lang, "limited")
    try:
        alert_id = state.record(DataDir(_data_dir()).database, help_request)
    except Exception as e:  # never a dead end: the child still gets the helplines
        failures = state.failed()
        log.error(
            "NotAlone: a help request from %s (%s) could not be stored (%d so far): %r",
            identity.child,
            identity.device,
            failures,
            e,
        )
        _count("help.store_failed")
        return _result(lang, "failed")
    log.info("NotAlone: %s asked for help (alert %d)", identity.child, alert_id)
    return _result(lang, "thanks", lesson=help_request.lesson, warning=warning)


def _record_choice(page: WarnedPage, choice: str, counter: str) -> None:
    identity = _identity()
    pending = PendingChoice(child=identity.child, choice=choice, device=identity.device, url=page.url)
    try:
        store = _db()
        store.increment(counter)
        _state().warned.record_or_defer(store, page.id, pending)
    except Exception as e:  # the child's choice still takes effect
        log.error("NotAlone: could not record %s's choice %s: %r", identity.child, choice, e)
    log.info("NotAlone: %s chose %s at %s", identity.child, choice, page.url)


# -- the help page -----------------------------------------------------------------------------------------
@bp.get("/")
def help_page() -> ResponseReturnValue:
    lang = _lang()
    topics = [(key, TOPIC_LABELS[lang][key]) for key in TOPICS]
    return _render(
        "help.html",
        lang,
        token=_form_token(_identity().device),
        topics=topics,
        note_max=NOTE_MAX_CHARS,
        app_max=APP_MAX_CHARS,
    )


@bp.post("/")
def send_help() -> ResponseReturnValue:
    lang = _lang()
    identity = _identity()
    if not _real_navigation():
        _count("help.refused_navigation")
        return _result(lang, "refused")
    if not _valid_form_token(request.form.get("token", ""), identity.device):
        _count("help.refused_token")
        return _result(lang, "expired")
    topic = request.form.get("topic", "")
    topic = topic if topic in TOPICS else "other"
    help_request = HelpRequest(
        alert=_child_raised(
            identity,
            snippet="",
            direction="outgoing",
            title=TOPIC_LABELS["en"][topic],
            app=request.form.get("app", "").strip()[:APP_MAX_CHARS],
            terms=(topic,),
            child_note=request.form.get("note", "")[:NOTE_MAX_CHARS],
        ),
        lesson=topic,
    )
    return _submit(lang, help_request)


# -- the warning page and its choices ----------------------------------------------------------------------
@bp.get("/warning/<warning_id>")
def warning(warning_id: str) -> ResponseReturnValue:
    page = _own_warning(warning_id)
    if page is None:
        lang = _lang()
        return _render("gone.html", lang, 404)
    lang = _lang(page.lang, fallback=page.detected_lang)
    return _render("warning.html", lang, page=page, token=_form_token(page.device, page.id))


@bp.post("/warning/<warning_id>/<action>")
def choose(warning_id: str, action: str) -> ResponseReturnValue:
    page = _own_warning(warning_id)
    lang = _lang(page.lang if page else "", fallback=page.detected_lang if page else "")
    if action not in ("back", "continue", "tell"):
        abort(404)
    if not _real_navigation():
        _count("interstitial.refused_navigation")
        return _result(lang, "refused")
    if page is None:
        return _render("gone.html", lang, 404)
    if not _valid_form_token(request.form.get("token", ""), page.device, page.id):
        _count("interstitial.refused_token")
        return _result(lang, "expired")
    if action == "back":
        _record_choice(page, "went_back", "interstitial.went_back")
        return _render("went_back.html", lang)
    if action == "continue":
        if page.mode != "warn":  # block mode offers no way on, whatever is posted
            return _result(lang, "refused")
        _state().grants.grant(page.device, page.url)
        _record_choice(page, "continued", "interstitial.continued")
        return _render("continue.html", lang, page=page)
    seen = " ".join((page.title, page.snippet, *page.terms))
    help_request = HelpRequest(
        alert=_child_raised(
            _identity(),
            snippet=page.snippet[:500],
            direction="incoming",
            url=page.url,
            title=page.title,
            terms=page.terms,
            model_version=page.model_version,
        ),
        lesson=scenario_of(seen, page.category),
        warning_id=page.id,
    )
    return _submit(lang, help_request, warning=page)


# -- what NotAlone does ------------------------------------------------------------------------------------
@bp.get("/about")
def about() -> ResponseReturnValue:
    return _render("about.html", _lang())


# -- setting up a child's device ---------------------------------------------------------------------------
def _ca_certificate() -> bytes | None:
    confdir = current_app.config["CONFDIR"]
    path = Path(confdir).expanduser() / CA_FILE if confdir else None
    try:
        return path.read_bytes() if path is not None else None
    except OSError:
        return None


def _ca_name(pem: bytes) -> str:
    """The name the device shows for the CA: its common name, as the certificate itself carries it."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        names = x509.load_pem_x509_certificate(pem).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        return ""
    return str(names[0].value) if names else ""


@bp.get("/enrol/<token>")
def enrol(token: str) -> ResponseReturnValue:
    lang = _lang()
    pem = _ca_certificate()
    if signing.check_enrolment(_data_dir(), token) is None or pem is None:
        return _render("enrol_expired.html", lang, 403)
    return _render("enrol.html", lang, token=token, ca_name=_ca_name(pem))


@bp.get("/enrol/<token>/notalone-ca.pem")
def enrol_ca(token: str) -> ResponseReturnValue:
    pem = _ca_certificate()
    if signing.check_enrolment(_data_dir(), token) is None or pem is None:
        abort(403)
    return (
        pem,
        200,
        {
            "Content-Type": "application/x-x509-ca-cert",
            "Content-Disposition": 'attachment; filename="notalone-ca.pem"',
        },
    )
