"""The child-friendly warning page shown instead of a likely scam, and the signed links on it.

The page's links point back at the same origin under ``CHOICE_PATH``; the proxy answers those requests
itself. Each link carries a token signed with a per-process secret that binds the choice to one flow's
device and URL, so a page cannot forge a "continue" for another URL or another child. "Tell my parent" is
a form posted to ``TELL_PATH`` with a "tell" token and the device's help-form token (see ``help_desk``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote

from proxy_addon.pages import render_page

CHOICE_PATH = "/__notalone__/choice"
TELL_PATH = "/__notalone__/tell"
ACTIONS = ("continue", "back", "tell")
TOKEN_TTL_S = 30 * 60
ALLOWANCE_TTL_S = 60 * 60

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "Wait a moment!",
        "heading": "This page might be a trick",
        "explain": "This page looks like it could be a scam: it may try to get money, passwords or "
        "personal details. It comes from",
        "tip_money": "Never pay, send gift cards or share codes because a website asks you to.",
        "tip_secret": "Don't type your passwords, address or phone number here.",
        "tip_adult": "If you are not sure, ask a grown-up you trust. You are not in trouble.",
        "back": "Go back to safety",
        "continue": "Continue anyway",
        "tell": "Tell my parent",
        "went_back": "Good choice! You can close this tab or keep browsing.",
    },
    "vi": {
        "title": "Chờ một chút!",
        "heading": "Trang này có thể là một trò lừa",
        "explain": "Trang này có vẻ là lừa đảo: nó có thể tìm cách lấy tiền, mật khẩu hoặc thông tin "
        "cá nhân của bạn. Trang đến từ",
        "tip_money": "Đừng bao giờ trả tiền, gửi thẻ quà tặng hay chia sẻ mã chỉ vì một trang web yêu cầu.",
        "tip_secret": "Đừng nhập mật khẩu, địa chỉ hay số điện thoại của bạn ở đây.",
        "tip_adult": "Nếu không chắc, hãy hỏi một người lớn mà bạn tin tưởng. Bạn không có lỗi gì cả.",
        "back": "Quay lại an toàn",
        "continue": "Vẫn tiếp tục",
        "tell": "Báo bố mẹ",
        "went_back": "Lựa chọn tốt lắm! Bạn có thể đóng thẻ này hoặc tiếp tục lướt web.",
    },
}


def choose_language(page_lang: str = "", accept_language: str = "", detected_lang: str = "") -> str:
    """The interstitial's language: the page's declared ``lang``, else the browser's first preference
    (the child's own choice), else the language the classifier detected; ``"en"`` when none is known."""
    for candidate in (page_lang, accept_language.split(",", 1)[0], detected_lang):
        tag = candidate.strip().lower()[:2]
        if tag in MESSAGES:
            return tag
    return "en"


@dataclass(frozen=True)
class Choice:
    """A verified choice link: what the child chose, on which device, for which URL."""

    action: str  # "continue", "back" or "tell"
    device: str
    url: str
    flow_id: str


class ChoiceSigner:
    """Signs and verifies choice tokens with HMAC-SHA256 under a secret that lives only in this process."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def sign(self, action: str, device: str, url: str, flow_id: str, now: float | None = None) -> str:
        expires = int((now or time.time()) + TOKEN_TTL_S)
        claims = {"a": action, "d": device, "u": url, "f": flow_id, "e": expires}
        body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=")
        sig = base64.urlsafe_b64encode(hmac.digest(self._secret, body, hashlib.sha256)).rstrip(b"=")
        return (body + b"." + sig).decode()

    def verify(self, token: str, device: str, now: float | None = None) -> Choice | None:
        """The choice in ``token`` if its signature holds, it has not expired and it belongs to ``device``."""
        try:
            body, sig = token.encode().split(b".", 1)
            expected = base64.urlsafe_b64encode(hmac.digest(self._secret, body, hashlib.sha256)).rstrip(b"=")
            if not hmac.compare_digest(sig, expected):
                return None
            claims = json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
        except (ValueError, UnicodeError):
            return None
        if claims.get("e", 0) < (now or time.time()) or claims.get("d") != device:
            return None
        if claims.get("a") not in ACTIONS:
            return None
        return Choice(claims["a"], claims["d"], claims["u"], claims["f"])


class Allowances:
    """URLs a device chose to open anyway; they pass unchecked for an hour."""

    def __init__(self, ttl_s: float = ALLOWANCE_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._until: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def grant(self, device: str, url: str, now: float | None = None) -> None:
        now = now or time.time()
        with self._lock:
            self._until = {k: v for k, v in self._until.items() if v > now}
            self._until[(device, url)] = now + self.ttl_s

    def allows(self, device: str, url: str, now: float | None = None) -> bool:
        with self._lock:
            return self._until.get((device, url), 0.0) > (now or time.time())


def choice_link(token: str) -> str:
    return f"{CHOICE_PATH}?t={quote(token, safe='')}"


def render_interstitial(
    *,
    lang: str,
    mode: str,
    host: str,
    back_token: str,
    continue_token: str | None,
    tell_token: str,
    form_token: str,
) -> str:
    """The warning page. ``continue_token`` is None in block mode, which offers no way on."""
    text = MESSAGES.get(lang, MESSAGES["en"])
    continue_html = ""
    if continue_token is not None:
        href = html.escape(choice_link(continue_token))
        label = html.escape(text["continue"])
        continue_html = f'<a class="button continue" id="continue-anyway" href="{href}">{label}</a>'
    return render_page(
        "interstitial.html",
        lang=lang,
        style="interstitial.css",
        mode=html.escape(mode),
        title=html.escape(text["title"]),
        heading=html.escape(text["heading"]),
        explain=html.escape(text["explain"]),
        host=html.escape(host),
        tip_money=html.escape(text["tip_money"]),
        tip_secret=html.escape(text["tip_secret"]),
        tip_adult=html.escape(text["tip_adult"]),
        back_url=html.escape(choice_link(back_token)),
        back_label=html.escape(text["back"]),
        continue_link=continue_html,
        tell_path=TELL_PATH,
        tell_token=html.escape(tell_token),
        form_token=html.escape(form_token),
        tell_label=html.escape(text["tell"]),
    )


def render_went_back(lang: str) -> str:
    text = MESSAGES.get(lang, MESSAGES["en"])
    return render_page(
        "went_back.html",
        lang=lang,
        title=html.escape(text["title"]),
        style="went_back.css",
        message=html.escape(text["went_back"]),
    )
