"""``notalone demo``: a pretend child's browsing, through the running proxy, so a parent sees real alerts.

``content/`` holds the demo's pages (``*.html``) and chats (``*.json``), English and Vietnamese, risky and
ordinary; :mod:`notalone.demo.origin` serves them on loopback and :mod:`notalone.demo.child` visits them
through the proxy. Nothing here writes to the alert store: every alert comes from the real pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Literal

Speaker = Literal["peer", "child"]


@dataclass(frozen=True)
class Page:
    """One web page; ``path`` is where the origin serves it (the file name without ``.html``)."""

    path: str
    lang: str
    html: str

    @property
    def risky(self) -> bool:
        return self.path in RISKY_PAGES


@dataclass(frozen=True)
class Chat:
    """A WebSocket conversation between the child and a ``peer``, turn by turn."""

    name: str
    title: str
    lang: str
    peer: str
    conversation: str
    turns: tuple[tuple[Speaker, str], ...]

    @property
    def path(self) -> str:
        return f"/chat/dm/{self.conversation}"

    @property
    def risky(self) -> bool:
        return self.name in RISKY_CHATS


# What the demo expects the proxy to flag; the rest must stay quiet (false alarms lose parents' trust).
RISKY_PAGES = frozenset({"/free-robux", "/kim-cuong-mien-phi"})
RISKY_CHATS = frozenset({"grooming-en", "grooming-vi", "kidnapping-vi"})


def _content() -> resources.abc.Traversable:
    return resources.files(__package__).joinpath("content")


def load_pages() -> list[Page]:
    pages = []
    for item in sorted(_content().iterdir(), key=lambda f: f.name):
        if item.name.endswith(".html"):
            html = item.read_text(encoding="utf-8")
            lang = "vi" if 'lang="vi"' in html[:200] else "en"
            pages.append(Page("/" + item.name.removesuffix(".html"), lang, html))
    return pages


def load_chats(run: str = "") -> list[Chat]:
    """The demo's chats; with ``run``, each conversation id gets it as a suffix.

    A chat app's conversation ids are the proxy's conversation keys: the same ids in a second run would
    continue the first run's conversations, whose alerts were already raised, so each run has its own.
    """
    chats = []
    for item in sorted(_content().iterdir(), key=lambda f: f.name):
        if item.name.endswith(".json"):
            data = json.loads(item.read_text(encoding="utf-8"))
            turns = tuple((speaker, text) for speaker, text in data["turns"])
            if any(speaker not in ("peer", "child") for speaker, _ in turns):
                raise ValueError(f"{item.name}: every turn is spoken by 'peer' or 'child'")
            chats.append(
                Chat(
                    item.name.removesuffix(".json"),
                    data["title"],
                    data["lang"],
                    data["peer"],
                    f"{data['conversation']}-{run}" if run else data["conversation"],
                    turns,
                )
            )
    return chats
