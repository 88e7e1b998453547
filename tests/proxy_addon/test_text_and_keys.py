"""The addon's pure parts: message strings in chat payloads, conversation keys, home ranges."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy_addon.access import DEFAULT_HOME_RANGES, HomeRanges, RangeError
from proxy_addon.chat_text import looks_like_prose, message_text, strings_in_json, strings_in_urlencoded
from proxy_addon.conversation import conversation_key


def test_message_strings_are_found_and_machine_strings_are_not() -> None:
    payload = {
        "data": {
            "thread_id": "t-981",
            "messages": [
                {
                    "id": "3f2b9c1e-5d7a-4c1e-9b2a-7e6f5d4c3b2a",
                    "from": {"id": 77, "name": "sam_2011"},
                    "text": "are your parents home tonight?",
                    "ts": "2026-11-23T18:00:00.000Z",
                    "url": "https://cdn.example/img/a b.png",
                    "blob": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk",
                    "reactions": ["👍"],
                },
                {"sender": "me", "body": "ok"},
            ],
        },
        "cursor": "eyJwYWdlIjoyfQ==",
    }
    found = strings_in_json(payload)
    assert [(s.text, s.sender, s.conversation) for s in found] == [
        ("are your parents home tonight?", "sam_2011", "t-981"),
        ("ok", "me", "t-981"),
    ]


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-23T18:00:00Z",
        "https://example.com/a path",
        "550e8400-e29b-41d4-a716-446655440000",
        "dGhpcyBpcyBiYXNlNjQ=",
        "12345 67890",
        "",
        "a",
    ],
)
def test_machine_strings_are_not_prose(value: str) -> None:
    assert not looks_like_prose(value)


def test_form_bodies_and_plain_websocket_frames() -> None:
    assert [s.text for s in strings_in_urlencoded("csrf=9f8e7d6c5b4a&comment=see+you+at+the+park")] == [
        "see you at the park"
    ]
    assert [s.text for s in message_text("wanna video call later?")] == ["wanna video call later?"]
    assert message_text("\x00\x01\x02") == []
    assert [s.text for s in message_text(json.dumps({"op": 0, "d": {"content": "hello there"}}))] == [
        "hello there"
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=60),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=40,
)


@given(json_values)
def test_any_json_document_is_handled(document: object) -> None:
    for item in strings_in_json(document):
        assert item.text.strip() == item.text and item.text


@pytest.mark.parametrize(
    ("host", "path", "payload", "key"),
    [
        ("chat.example", "/api/conversations/42/messages?after=9", "", "chat.example/conversations/42"),
        ("game.example", "/ws/dm/u-77", "", "game.example/dm/u-77"),
        ("im.example", "/send", "c-9", "im.example#c-9"),
        ("im.example", "/poll?thread_id=abc123", "", "im.example/thread_id=abc123"),
        ("Forum.Example", "/index.html", "", "forum.example"),
    ],
)
def test_conversation_keys(host: str, path: str, payload: str, key: str) -> None:
    assert conversation_key(host, path, payload) == key


def test_home_ranges() -> None:
    home = HomeRanges.from_specs(DEFAULT_HOME_RANGES)
    for inside in (
        "127.0.0.1",
        "::1",
        "192.168.1.7",
        "10.0.0.2",
        "172.20.1.1",
        "fd00::5",
        "fe80::1%eth0",
        "::ffff:192.168.0.9",
        "169.254.3.3",
    ):
        assert home.allows(inside), inside
    for outside in ("8.8.8.8", "2001:4860::8888", "172.32.0.1", "not an ip"):
        assert not home.allows(outside), outside
    with pytest.raises(RangeError, match=r"10\.0\.0\.0/40"):
        HomeRanges.from_specs(["10.0.0.0/40"])
