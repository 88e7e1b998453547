"""Name a conversation: the host plus the best conversation or peer key the traffic offers, else the host."""

from __future__ import annotations

import itertools
import re
from urllib.parse import parse_qsl

from proxy_addon.chat_text import CONVERSATION_FIELDS

# Path words after which the next segment names a conversation or a counterpart.
_CONTAINER_WORDS = frozenset(
    {
        "conversation",
        "conversations",
        "thread",
        "threads",
        "channel",
        "channels",
        "chat",
        "chats",
        "room",
        "rooms",
        "dm",
        "dms",
        "dialog",
        "dialogs",
        "peer",
        "peers",
        "inbox",
        "direct",
        "group",
        "groups",
        "t",
    }
)
_ID_SEGMENT = re.compile(r"^(?=.*\d)[\w.@:+-]{2,80}$|^[0-9a-fA-F-]{8,}$")


def key_from_path(path: str) -> str:
    """``/api/conversations/42/messages`` -> ``conversations/42``; ``/dm/u-77`` -> ``dm/u-77``.

    An empty string when the path names no conversation.
    """
    segments = [s for s in path.split("?", 1)[0].split("/") if s]
    for word, value in itertools.pairwise(segments):
        if word.lower() in _CONTAINER_WORDS and _ID_SEGMENT.match(value):
            return f"{word.lower()}/{value}"
    for word, value in itertools.pairwise(segments):
        if word.lower() in _CONTAINER_WORDS and value.isalnum():
            return f"{word.lower()}/{value}"
    return ""


def key_from_query(query: str) -> str:
    fields = {k.lower(): v for k, v in parse_qsl(query)}
    for name in CONVERSATION_FIELDS:
        if fields.get(name):
            return f"{name}={fields[name][:80]}"
    return ""


def conversation_key(host: str, path: str, payload_conversation: str = "") -> str:
    """The key a conversation's turns are kept under in the store.

    A conversation id from the message payload is the most specific; then the URL path; then the query;
    with none, the whole host is one conversation.
    """
    host = host.lower()
    if payload_conversation:
        return f"{host}#{payload_conversation[:80]}"
    path_part, _, query = path.partition("?")
    key = key_from_path(path_part) or key_from_query(query)
    return f"{host}/{key}" if key else host
