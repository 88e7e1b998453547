"""Where an evidence phrase is in a text: what ``evidence_pattern(phrase, lang).search(folded)`` finds,
without compiling that pattern for a short text.

Compiling a phrase's pattern costs a few tenths of a millisecond, more than scoring a message, and most
phrases are looked for once or twice. Their patterns are small: alternatives of letters (each repeatable,
some standing for leetspeak), literal teen-code keys and separators, between word boundaries. This module
builds the same alternatives as :func:`classifier.normalize.evidence_pattern`, in the same order, and tries
them as the regex engine does (leftmost start first; at a start, alternatives in order, repeats longest
first), so it finds the same span. Phrases with a token (URL, money, ...), phrases looked for often and long
texts use the compiled pattern. ``tests/classifier/test_evidence.py`` checks both agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from classifier.normalize import (
    _LEET_CLASSES,
    _TOKEN_PATTERNS,
    _spelled,
    _word_alternatives,
    evidence_pattern,
    phrase_parts,
)

# Texts longer than this are searched with the compiled pattern: there, trying every possible start in
# Python could cost more than compiling.
MAX_MATCHED_CHARS = 2000
# A phrase's pattern is compiled once it has been looked for this many times: about where compiling it
# (a few tenths of a millisecond) has cost less than matching it here (tens of microseconds a time).
COMPILE_AFTER_USES = 12

# A node: ("set", characters, repeatable), ("lit", text), ("sep",) for [\W_]+, or ("alt", alternatives),
# each alternative a tuple of nodes.
Node = tuple
Continuation = Callable[[int], "int | None"]


def _spelled_nodes(word: str) -> tuple[Node, ...]:
    """The nodes of ``_word_pattern``'s spelled alternative: per character its leetspeak class (or itself),
    repeatable when it is a letter."""
    return tuple(map(_char_node, word))


@lru_cache(maxsize=1024)
def _char_node(ch: str) -> Node:
    chars = frozenset(_LEET_CLASSES[ch][1:-1]) if ch in _LEET_CLASSES else frozenset(ch)
    return ("set", chars, ch.isalpha())


@lru_cache(maxsize=8192)
def _word_node(word: str, lang: str) -> Node:
    spelled = _spelled(word)
    alternatives: list[tuple[Node, ...]] = []
    for source in _word_alternatives(word, lang):
        if source == spelled:
            alternatives.append(_spelled_nodes(word))
        else:  # an escaped teen-code key
            alternatives.append((("lit", _unescape(source)),))
    return ("alt", tuple(alternatives))


def _unescape(source: str) -> str:
    return re.sub(r"\\(.)", r"\1", source, flags=re.S) if "\\" in source else source


@lru_cache(maxsize=8192)
def phrase_nodes(phrase: str, lang: str) -> tuple[Node, ...] | None:
    """The nodes of ``evidence_pattern(phrase, lang)`` between its boundaries; None when the phrase holds a
    token (its pattern is a full regular expression)."""
    if any(w in _TOKEN_PATTERNS for w in phrase.split()):
        return None
    parts: list[Node] = []
    for words, keys in phrase_parts(phrase, lang):
        spelled: list[Node] = []
        for w in words:
            spelled += [("sep",), _word_node(w, lang)] if spelled else [_word_node(w, lang)]
        if keys:
            parts.append(("alt", (*((("lit", k),) for k in keys), tuple(spelled))))
        else:
            parts.append(spelled[0])
    nodes: list[Node] = []
    for part in parts:
        nodes += [("sep",), part] if nodes else [part]
    return tuple(nodes)


def _first_chars(node: Node) -> frozenset[str]:
    kind = node[0]
    if kind == "set":
        return node[1]
    if kind == "lit":
        return frozenset(node[1][:1])
    return frozenset().union(*(_first_chars(alternative[0]) for alternative in node[1]))


@lru_cache(maxsize=1024)
def _starts(chars: frozenset[str]) -> re.Pattern[str]:
    """Where a match may start: one of ``chars``, not just after a letter or digit."""
    return re.compile(r"(?<![^\W_])[" + "".join(re.escape(c) for c in sorted(chars)) + "]")


@lru_cache(maxsize=8192)
def _phrase_matcher(phrase: str, lang: str) -> tuple[tuple[Node, ...], re.Pattern[str]] | None:
    nodes = phrase_nodes(phrase, lang)
    return (nodes, _starts(_first_chars(nodes[0]))) if nodes else None


def _match(nodes: tuple[Node, ...], i: int, text: str, pos: int, then: Continuation) -> int | None:
    """The end of the first way (in the regex engine's order) that ``nodes[i:]`` match ``text`` at ``pos``
    and ``then`` accepts, or None."""
    if i == len(nodes):
        return then(pos)
    node = nodes[i]
    kind = node[0]
    if kind == "lit":
        literal = node[1]
        return _match(nodes, i + 1, text, pos + len(literal), then) if text.startswith(literal, pos) else None
    if kind == "alt":
        for alternative in node[1]:
            end = _match(alternative, 0, text, pos, lambda p: _match(nodes, i + 1, text, p, then))
            if end is not None:
                return end
        return None
    # A character set or a separator, taken as often as it can be, then one fewer at a time.
    run = pos
    if kind == "sep":
        while run < len(text) and not text[run].isalnum():
            run += 1
    else:
        chars = node[1]
        limit = len(text) if node[2] else min(len(text), pos + 1)
        while run < limit and text[run] in chars:
            run += 1
    for end in range(run, pos, -1):
        found = _match(nodes, i + 1, text, end, then)
        if found is not None:
            return found
    return None


@lru_cache(maxsize=8192)
def _uses(phrase: str, lang: str) -> list[int]:
    return [0]


def evidence_span(phrase: str, lang: str, folded: str) -> tuple[int, int] | None:
    """The span of ``evidence_pattern(phrase, lang).search(folded)``, or None when it finds nothing.

    A phrase looked for often gets its pattern compiled (searching with it is faster); one looked for only
    a few times is matched here, which costs far less than compiling.
    """
    uses = _uses(phrase, lang)
    uses[0] += 1  # a lost update between threads only moves when the pattern is compiled
    if uses[0] <= COMPILE_AFTER_USES and len(folded) <= MAX_MATCHED_CHARS and _phrase_matcher(phrase, lang):
        return matched_span(phrase, lang, folded)
    match = evidence_pattern(phrase, lang).search(folded)
    return match.span() if match else None


def matched_span(phrase: str, lang: str, folded: str) -> tuple[int, int] | None:
    """``evidence_span`` for a phrase without a token, found without its compiled pattern."""
    matcher = _phrase_matcher(phrase, lang)
    if matcher is None:
        raise ValueError(f"{phrase!r} holds a token (or nothing): only its compiled pattern finds it")
    nodes, starts = matcher

    def at_boundary(pos: int) -> int | None:
        return pos if pos == len(folded) or not folded[pos].isalnum() else None

    for start in starts.finditer(folded):
        pos = start.start()
        end = _match(nodes, 0, folded, pos, at_boundary)
        if end is not None:
            return pos, end
    return None
