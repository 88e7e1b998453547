"""The JSON Lines scoring contract shared by ``notalone score``, ``evaluate`` and ``train --extra``.

An input line is ``{"id", "kind": "message"|"page"|"conversation", "text"}`` (or ``"html"`` for a page,
``"messages": [{"from", "text"}]`` for a conversation), optionally with ``"label"``, ``"lang"`` and
``"source"`` (where the item comes from: ``evaluate`` reports each source separately).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from classifier.datasets import Example
from classifier.model import RiskModel
from classifier.records import ChatMessage, PageText, Score

KINDS = ("message", "page", "conversation")
LABELS = ("scam", "grooming", "benign")
MAX_LINE_CHARS = 5_000_000


class ContractError(ValueError):
    """An input line that does not follow the contract; the message says what is wrong."""


@dataclass(frozen=True)
class Request:
    id: Any
    kind: str
    text: str = ""
    html: str | None = None
    url: str = ""
    messages: tuple[ChatMessage, ...] = ()
    label: str | None = None
    lang: str | None = None
    source: str | None = None

    def plain_text(self) -> str:
        """All text of the request, for training on it."""
        if self.kind == "conversation":
            return "\n".join(m.text for m in self.messages if not m.from_child)
        if self.html is not None:
            from classifier.extract import extract_visible_text

            return extract_visible_text(self.html).combined()
        return self.text


def parse_request(obj: object) -> Request:
    """Validate one decoded JSON value; raise :class:`ContractError` naming the problem."""
    if not isinstance(obj, dict):
        raise ContractError(f"expected a JSON object, got {type(obj).__name__}")
    kind = obj.get("kind", "message")
    if kind not in KINDS:
        raise ContractError(f"kind must be one of {KINDS}, not {kind!r}")
    label = obj.get("label")
    if label is not None and label not in LABELS:
        raise ContractError(f"label must be one of {LABELS}, not {label!r}")
    lang = obj.get("lang")
    source = obj.get("source")
    common = {
        "id": obj.get("id"),
        "kind": kind,
        "label": label,
        "lang": lang if isinstance(lang, str) else None,
        "source": source if isinstance(source, str) and source else None,
        "url": str(obj.get("url") or ""),
    }
    if kind == "conversation":
        messages = obj.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ContractError("a conversation needs a non-empty 'messages' list")
        child = obj.get("child")
        parsed = []
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or not isinstance(m.get("text"), str):
                raise ContractError(f"messages[{i}] needs a 'text' string")
            sender = str(m.get("from", m.get("sender", "")))
            from_child = (
                bool(m.get("from_child"))
                or m.get("role") == "child"
                or (child is not None and sender == str(child))
            )
            parsed.append(ChatMessage(sender=sender, text=m["text"], from_child=from_child))
        return Request(messages=tuple(parsed), **common)
    if kind == "page" and isinstance(obj.get("html"), str):
        return Request(html=obj["html"], **common)
    text = obj.get("text")
    if not isinstance(text, str):
        raise ContractError("missing 'text' string" + (" (or 'html')" if kind == "page" else ""))
    return Request(text=text, **common)


def score_request(model: RiskModel, request: Request) -> Score:
    if request.kind == "conversation":
        return model.score_conversation(request.messages)
    if request.kind == "page":
        if request.html is not None:
            return model.score_page(request.html, url=request.url)
        return model.score_page_text(PageText(title="", text=request.text), url=request.url)
    return model.score_message(request.text)


def read_requests(lines: Iterable[str]) -> Iterator[tuple[int, Request | ContractError]]:
    """``(line number, request or error)`` for each non-blank line."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            yield lineno, ContractError(f"line longer than {MAX_LINE_CHARS} characters")
            continue
        try:
            yield lineno, parse_request(json.loads(line))
        except json.JSONDecodeError as exc:
            yield lineno, ContractError(f"not valid JSON ({exc.msg} at column {exc.colno})")
        except ContractError as exc:
            yield lineno, exc


def score_stream(model: RiskModel, source: TextIO, sink: TextIO, errors: TextIO, batch: int = 512) -> int:
    """Score every line of ``source`` into ``sink``; report bad lines on ``errors``; return their count.

    Plain messages are scored in batches (the fast path); output keeps the input order.
    """
    bad = 0
    pending: list[Request] = []

    def flush() -> None:
        plain = [r for r in pending if r.kind == "message"]
        scored = iter(model.score_messages([r.text for r in plain])) if plain else iter(())
        for r in pending:
            score = next(scored) if r.kind == "message" else score_request(model, r)
            sink.write(json.dumps(score.to_contract(r.id), ensure_ascii=False) + "\n")
        pending.clear()

    for lineno, item in read_requests(source):
        if isinstance(item, ContractError):
            bad += 1
            errors.write(f"line {lineno}: {item}\n")
            continue
        pending.append(item)
        if len(pending) >= batch:
            flush()
    flush()
    return bad


def examples_from_requests(requests: Iterable[Request], source: str) -> list[Example]:
    """Labelled requests (for example exported parent feedback) as extra training examples."""
    from classifier.normalize import detect_lang

    examples = []
    for i, r in enumerate(requests):
        if r.label is None:
            raise ContractError(f"record {r.id!r} has no 'label' to train on")
        text = r.plain_text()
        examples.append(
            Example(
                text,
                r.label,
                r.lang or detect_lang(text),
                r.kind,
                source,
                f"{source}:{r.id if r.id is not None else i}",
            )
        )
    return examples
