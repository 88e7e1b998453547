"""Sign-in pages that claim a brand on a host the brand does not own: a cloned login page's one tell.

A phishing kit copies a real sign-in page word for word, so its text reads like the real one and no text
model can tell them apart; its address cannot be copied. A page that asks for a password (or calls itself a
sign-in page in its title) and names a brand in its title ("Log in to Facebook", "Đăng Nhập Facebook",
"Discord") is that brand's sign-in page only on the brand's own domains, and on them it is the real one,
however much it reads like its clones. A site that names itself in its title ("Login with Facebook |
Spotify" on spotify.com) claims no other brand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from classifier.folding import fold
from classifier.records import PageText


@dataclass(frozen=True)
class Brand:
    name: str
    title_words: tuple[str, ...]  # folded words or phrases that name it in a page title
    domains: tuple[str, ...]  # the domains its sign-in pages are served from (and their subdomains)

    def owns(self, host: str) -> bool:
        """Whether ``host`` is one of its domains or under one."""
        return any(_under(host, domain) for domain in self.domains)


# Brands whose sign-in pages children meet (games, social apps, mail) and that phishing kits clone, in
# English and Vietnamese use; the domains are the brands' own.
BRANDS: tuple[Brand, ...] = (
    Brand("Facebook", ("facebook",), ("facebook.com", "fb.com", "messenger.com", "meta.com")),
    Brand("Instagram", ("instagram",), ("instagram.com", "facebook.com")),
    Brand("Messenger", ("messenger",), ("messenger.com", "facebook.com")),
    Brand(
        "Google",
        ("google", "gmail", "youtube"),
        ("google.com", "google.com.vn", "gmail.com", "youtube.com"),
    ),
    Brand(
        "Microsoft",
        ("microsoft", "outlook", "hotmail", "onedrive", "office 365", "xbox", "skype"),
        (
            "microsoft.com",
            "live.com",
            "microsoftonline.com",
            "office.com",
            "outlook.com",
            "hotmail.com",
            "onedrive.com",
            "xbox.com",
            "skype.com",
        ),
    ),
    Brand("Apple", ("apple id", "icloud"), ("apple.com", "icloud.com")),
    Brand("PayPal", ("paypal",), ("paypal.com",)),
    Brand("Netflix", ("netflix",), ("netflix.com",)),
    Brand("Steam", ("steam",), ("steampowered.com", "steamcommunity.com")),
    Brand("Discord", ("discord",), ("discord.com", "discordapp.com")),
    Brand("Roblox", ("roblox",), ("roblox.com",)),
    Brand("Epic Games", ("epic games", "fortnite"), ("epicgames.com", "fortnite.com")),
    Brand("Twitch", ("twitch",), ("twitch.tv",)),
    Brand("TikTok", ("tiktok",), ("tiktok.com",)),
    Brand("Twitter", ("twitter",), ("twitter.com", "x.com")),
    Brand("Snapchat", ("snapchat",), ("snapchat.com",)),
    Brand("LinkedIn", ("linkedin",), ("linkedin.com",)),
    Brand("Yahoo", ("yahoo",), ("yahoo.com",)),
    Brand("Reddit", ("reddit",), ("reddit.com",)),
    Brand("Pinterest", ("pinterest",), ("pinterest.com",)),
    Brand("PlayStation", ("playstation",), ("playstation.com", "sony.com", "sonyentertainmentnetwork.com")),
    Brand("Garena", ("garena", "free fire"), ("garena.com", "garena.vn")),
    Brand("Zalo", ("zalo",), ("zalo.me", "zalo.vn", "zaloapp.com")),
)

_TITLE_WORDS = {word: brand for brand in BRANDS for word in brand.title_words}
_TITLE_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in sorted(_TITLE_WORDS, key=len, reverse=True)) + r")\b"
)
_BY_NAME = {brand.name: brand for brand in BRANDS}
# A title that says the page is a sign-in page, for pages whose password field a script draws.
_SIGN_IN_TITLE = re.compile(
    r"\b(?:log ?in|log ?on|sign[ -]?in|dang nhap|verify your account|xac minh tai khoan)\b"
)


def claimed_brand(title: str) -> str:
    """The brand a page title names first ("" when none)."""
    return _first_brand(fold(title))


def sign_in_brand(page: PageText) -> str:
    """The brand a sign-in page claims to be: one that asks for a password or says it is a sign-in page in
    its title, and names a brand there ("" otherwise)."""
    if not page.title:
        return ""
    folded = fold(page.title)
    return _first_brand(folded) if page.asks_password or _SIGN_IN_TITLE.search(folded) else ""


def _first_brand(folded_title: str) -> str:
    found = _TITLE_PATTERN.search(folded_title)
    return _TITLE_WORDS[found.group(1)].name if found else ""


# Hosts under a brand's domain that serve anyone's pages (Google Sites, Forms, Drive): a page there is not
# the brand's own, and scam pages are made there for that reason. The text model alone decides them.
USER_CONTENT_HOSTS = (
    "sites.google.com",
    "docs.google.com",
    "drive.google.com",
    "script.google.com",
    "forms.gle",
)


def _under(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def served_by_brand(brand_name: str, host: str) -> bool:
    """Whether ``host`` (lower case, no port) is one of ``brand_name``'s own domains or under one, and
    not one of the :data:`USER_CONTENT_HOSTS` there."""
    brand = _BY_NAME.get(brand_name)
    if brand is None or any(_under(host, shared) for shared in USER_CONTENT_HOSTS):
        return False
    return brand.owns(host)


def impersonates(brand_name: str, title: str, host: str) -> bool:
    """Whether a sign-in page titled ``title`` that claims ``brand_name`` is served from ``host`` (lower
    case, no port) that is neither the brand's own nor a site naming itself in the title."""
    brand = _BY_NAME.get(brand_name)
    if brand is None or not host or brand.owns(host):
        return False
    site = _site_name(host)
    named = fold(title)
    return not (site and (re.search(rf"\b{re.escape(site)}\b", named) or site in named.replace(" ", "")))


def _site_name(host: str) -> str:
    """The name a host's site goes by: "spotify" for accounts.spotify.com, "bbc" for www.bbc.co.uk; none
    for an IP address."""
    labels = [label for label in host.split(".") if label]
    if all(label.isdigit() for label in labels) or ":" in host:
        return ""
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in {"co", "com", "org", "net", "gov", "edu"}:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else (labels[0] if labels else "")
