"""Find the human-language messages in chat traffic (JSON and form bodies) without knowing the app.

Chat apps differ in their field names, so the search is generic: every string *value* that reads like
a sentence is a message; keys, ids, URLs, base64 blobs, tokens and timestamps are not. Sibling fields
name the sender and the conversation when the app offers them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

MIN_MESSAGE_CHARS = 2
MAX_MESSAGE_CHARS = 4000
MAX_MESSAGES = 200
MAX_DEPTH = 32

# Fields that name a conversation or counterpart, best first.
CONVERSATION_FIELDS = (
    "conversation_id",
    "conversationid",
    "thread_id",
    "threadid",
    "channel_id",
    "channelid",
    "chat_id",
    "chatid",
    "room_id",
    "roomid",
    "dialog_id",
    "peer_id",
    "peer",
    "recipient_id",
    "recipient",
    "to",
)
SENDER_FIELDS = ("sender", "from", "author", "username", "user_name", "user", "name", "sender_id", "user_id")
# String fields whose values are never prose even when they contain spaces.
NON_TEXT_FIELDS = frozenset(
    {
        "id",
        "type",
        "kind",
        "url",
        "href",
        "src",
        "link",
        "avatar",
        "icon",
        "image",
        "token",
        "cursor",
        "email",
        "phone",
        "timestamp",
        "time",
        "date",
        "created_at",
        "updated_at",
        "status",
        "mime",
        "lang",
        "locale",
        "color",
        "colour",
        "hash",
        "signature",
        "key",
        "class",
        "style",
        "user_agent",
        "useragent",
    }
)
# Fields that hold the message itself: a short string there ("ok", "hi") still counts.
MESSAGE_FIELDS = frozenset({"text", "message", "msg", "body", "content", "caption", "comment", "reply"})

_URL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*://|www\.|/[\w./-]*$|data:)", re.IGNORECASE)
_TIMESTAMP = re.compile(r"^\s*\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?\s*$")
_TOKENISH = re.compile(r"^[A-Za-z0-9+/=_\-.:]{16,}$")
_HEX_OR_UUID = re.compile(r"^[0-9a-fA-F-]{8,}$")


@dataclass(frozen=True)
class ChatString:
    """One human-language string found in a chat payload, with what its neighbours say about it."""

    text: str
    field: str = ""
    sender: str = ""
    conversation: str = ""


def looks_like_prose(value: str, *, message_field: bool = False) -> bool:
    """True for a string a person wrote: letters and spaces, not an id, URL, token or timestamp."""
    text = value.strip()
    if len(text) < MIN_MESSAGE_CHARS or len(text) > MAX_MESSAGE_CHARS:
        return False
    if _URL.match(text) or _TIMESTAMP.match(text) or _HEX_OR_UUID.match(text):
        return False
    letters = sum(ch.isalpha() for ch in text)
    if letters < max(2, len(text) * 0.5) and not (message_field and letters >= 1):
        return False
    if " " not in text:
        # One word: only a message field's value ("hi", "ok") is prose; elsewhere it is a token or a name.
        return message_field and not _TOKENISH.match(text)
    return True


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def _first_field(obj: dict[str, Any], names: tuple[str, ...]) -> str:
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for name in names:
        value = lowered.get(name)
        if isinstance(value, dict):
            # {"from": {"id": 7, "name": "Sam"}}: the nested name or id identifies the sender.
            value = value.get("name") or value.get("username") or value.get("id")
        text = _scalar_text(value)
        if text:
            return text[:120]
    return ""


def _walk(node: Any, sender: str, conversation: str, depth: int) -> Iterator[ChatString]:
    if depth > MAX_DEPTH:
        return
    if isinstance(node, dict):
        sender = _first_field(node, SENDER_FIELDS) or sender
        conversation = _first_field(node, CONVERSATION_FIELDS) or conversation
        for key, value in node.items():
            field = str(key).lower()
            if isinstance(value, str):
                if field in NON_TEXT_FIELDS or field in SENDER_FIELDS or field in CONVERSATION_FIELDS:
                    continue
                if looks_like_prose(value, message_field=field in MESSAGE_FIELDS):
                    yield ChatString(value.strip(), field, sender, conversation)
            else:
                yield from _walk(value, sender, conversation, depth + 1)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str):
                if looks_like_prose(item):
                    yield ChatString(item.strip(), "", sender, conversation)
            else:
                yield from _walk(item, sender, conversation, depth + 1)


def strings_in_json(document: Any) -> list[ChatString]:
    """The human-language strings of a parsed JSON document, in document order (at most 200)."""
    found: list[ChatString] = []
    for item in _walk(document, "", "", 0):
        found.append(item)
        if len(found) >= MAX_MESSAGES:
            break
    return found


def strings_in_json_text(text: str) -> list[ChatString]:
    """Parse ``text`` as JSON (or newline-delimited JSON) and return its human-language strings."""
    try:
        return strings_in_json(json.loads(text))
    except ValueError:
        pass
    found: list[ChatString] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(("{", "[")):
            try:
                found.extend(strings_in_json(json.loads(line)))
            except ValueError:
                continue
    return found[:MAX_MESSAGES]


def strings_in_form(fields: list[tuple[str, str]]) -> list[ChatString]:
    """The human-language values of a submitted form (URL-encoded or multipart, already decoded)."""
    as_dict = dict(fields)
    sender = _first_field(as_dict, SENDER_FIELDS)
    conversation = _first_field(as_dict, CONVERSATION_FIELDS)
    found = []
    for key, value in fields:
        field = key.lower()
        if field in NON_TEXT_FIELDS or field in SENDER_FIELDS or field in CONVERSATION_FIELDS:
            continue
        if looks_like_prose(value, message_field=field in MESSAGE_FIELDS):
            found.append(ChatString(value.strip(), field, sender, conversation))
    return found[:MAX_MESSAGES]


def strings_in_urlencoded(body: str) -> list[ChatString]:
    return strings_in_form(parse_qsl(body, keep_blank_values=False))


def message_text(payload: str) -> list[ChatString]:
    """The messages in one WebSocket text frame: JSON when it parses, else the frame itself if prose."""
    stripped = payload.strip()
    if stripped.startswith(("{", "[")):
        return strings_in_json_text(stripped)
    if looks_like_prose(stripped, message_field=True):
        return [ChatString(stripped)]
    return []
