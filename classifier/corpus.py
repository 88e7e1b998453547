"""The hand-written English and Vietnamese corpus: schema, loading and the near-duplicate check.

Each line of ``classifier/corpus/*.jsonl`` is one item. A message or page item has ``text``; a conversation
has ``messages``: ``[{"from": "...", "role": "child"|"counterpart", "text": "...", "stage": ...}]``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from classifier.folding import fold

CORPUS_DIR = Path(__file__).parent / "corpus"

LABELS = ("scam", "grooming", "benign")
LANGS = ("en", "vi")
KINDS = ("message", "page", "conversation")
ROLES = ("child", "counterpart")
GROOMING_STAGES = (
    "trust_building",
    "age_probing",
    "flattery",
    "gifts",
    "secrecy",
    "isolation",
    "private_app",
    "personal_info",
    "photo_request",
    "meeting",
    "sexual_talk",  # sexual talk, questions or requests aimed at a child: high severity on its own
)
PLATFORMS = (
    "discord",
    "roblox",
    "instagram",
    "tiktok",
    "zalo",
    "messenger",
    "facebook",
    "free_fire",
    "minecraft",
    "fortnite",
    "sms",
    "email",
    "web",
    "youtube",
    "telegram",
    "snapchat",
    "whatsapp",
    "school_app",
    "other",
)
SCRIPTS = ("standard", "no_diacritics", "teencode", "mixed")

# Two items "share more than a quarter of their word 4-grams" when the shared 4-grams exceed this fraction
# of the smaller item's 4-grams: the strict reading, so that a short item cannot hide inside a long one.
MAX_SHARED_4GRAM_FRACTION = 0.25

_WORD = re.compile(r"\w+")


class CorpusError(ValueError):
    """A corpus line that does not follow the schema."""


@dataclass(frozen=True)
class CorpusItem:
    id: str
    label: str
    lang: str
    kind: str
    scenario: str
    platform: str
    hard_negative: bool
    script: str
    text: str = ""
    messages: tuple[dict, ...] = field(default_factory=tuple)
    stage: str | None = None
    source: str = ""

    def texts(self) -> list[str]:
        """The item's text pieces: the text itself, or each message of a conversation."""
        if self.kind == "conversation":
            return [m["text"] for m in self.messages]
        return [self.text]


def _require(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise CorpusError(f"{where}: {message}")


def parse_item(raw: dict, where: str) -> CorpusItem:
    """Validate one decoded JSON object and build a :class:`CorpusItem`; raise :class:`CorpusError`."""
    for key in ("id", "label", "lang", "kind", "scenario", "platform"):
        _require(isinstance(raw.get(key), str) and raw[key], where, f"missing or empty {key!r}")
    _require(raw["label"] in LABELS, where, f"label {raw['label']!r} not in {LABELS}")
    _require(raw["lang"] in LANGS, where, f"lang {raw['lang']!r} not in {LANGS}")
    _require(raw["kind"] in KINDS, where, f"kind {raw['kind']!r} not in {KINDS}")
    _require(raw["platform"] in PLATFORMS, where, f"platform {raw['platform']!r} not in {PLATFORMS}")
    script = raw.get("script", "standard")
    _require(script in SCRIPTS, where, f"script {script!r} not in {SCRIPTS}")
    hard_negative = raw.get("hard_negative", False)
    _require(isinstance(hard_negative, bool), where, "hard_negative must be true or false")
    _require(not hard_negative or raw["label"] == "benign", where, "only benign items can be hard negatives")
    messages: tuple[dict, ...] = ()
    text = ""
    if raw["kind"] == "conversation":
        msgs = raw.get("messages")
        _require(isinstance(msgs, list) and len(msgs) >= 2, where, "a conversation needs >= 2 messages")
        for i, m in enumerate(msgs):
            _require(isinstance(m, dict), where, f"message {i} is not an object")
            _require(isinstance(m.get("from"), str) and m["from"], where, f"message {i} lacks 'from'")
            _require(m.get("role") in ROLES, where, f"message {i} role {m.get('role')!r} not in {ROLES}")
            _require(isinstance(m.get("text"), str) and m["text"].strip(), where, f"message {i} has no text")
            stage = m.get("stage")
            _require(stage is None or stage in GROOMING_STAGES, where, f"message {i} stage {stage!r} unknown")
        messages = tuple(msgs)
    else:
        _require(isinstance(raw.get("text"), str) and raw["text"].strip(), where, "missing 'text'")
        text = raw["text"]
        stage = raw.get("stage")
        _require(stage is None or stage in GROOMING_STAGES, where, f"stage {stage!r} unknown")
    return CorpusItem(
        id=raw["id"],
        label=raw["label"],
        lang=raw["lang"],
        kind=raw["kind"],
        scenario=raw["scenario"],
        platform=raw["platform"],
        hard_negative=hard_negative,
        script=script,
        text=text,
        messages=messages,
        stage=raw.get("stage") if raw["kind"] != "conversation" else None,
        source=where.split(":")[0],
    )


def iter_corpus(paths: Iterable[Path] | None = None) -> Iterator[CorpusItem]:
    """Yield every item of the given JSONL files (default: all of ``classifier/corpus``)."""
    files = sorted(CORPUS_DIR.glob("*.jsonl")) if paths is None else list(paths)
    seen: dict[str, str] = {}
    for path in files:
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{path.name}:{lineno}"
                try:
                    raw = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CorpusError(f"{where}: not JSON ({exc.msg})") from exc
                _require(isinstance(raw, dict), where, "not a JSON object")
                item = parse_item(raw, where)
                _require(item.id not in seen, where, f"id {item.id!r} already used at {seen.get(item.id)}")
                seen[item.id] = where
                yield item


def word_4grams(item: CorpusItem) -> frozenset[tuple[str, ...]]:
    """The folded word 4-grams of an item, never spanning two messages."""
    grams: set[tuple[str, ...]] = set()
    for piece in item.texts():
        words = _WORD.findall(fold(piece))
        grams.update(zip(words, words[1:], words[2:], words[3:], strict=False))
    return frozenset(grams)


@dataclass(frozen=True)
class NearDuplicate:
    first: str
    second: str
    shared: int
    fraction: float


def find_near_duplicates(
    items: Iterable[CorpusItem], max_fraction: float = MAX_SHARED_4GRAM_FRACTION
) -> list[NearDuplicate]:
    """Pairs of items sharing more than ``max_fraction`` of the smaller one's word 4-grams.

    Items too short to have a 4-gram are compared on their whole folded text instead.
    """
    grams: dict[str, frozenset] = {}
    by_gram: dict[tuple[str, ...], list[str]] = defaultdict(list)
    short: dict[str, list[str]] = defaultdict(list)
    for item in items:
        g = word_4grams(item)
        if not g:
            short[" ".join(_WORD.findall(fold(" ".join(item.texts()))))].append(item.id)
            continue
        grams[item.id] = g
        for gram in g:
            by_gram[gram].append(item.id)
    shared: dict[tuple[str, str], int] = defaultdict(int)
    for ids in by_gram.values():
        for a, b in itertools.combinations(sorted(ids), 2):
            shared[(a, b)] += 1
    found = []
    for (a, b), n in shared.items():
        fraction = n / min(len(grams[a]), len(grams[b]))
        if fraction > max_fraction:
            found.append(NearDuplicate(a, b, n, round(fraction, 3)))
    for ids in short.values():
        found.extend(NearDuplicate(a, b, 0, 1.0) for a, b in itertools.combinations(sorted(ids), 2))
    return sorted(found, key=lambda d: -d.fraction)


def main(argv: list[str] | None = None) -> int:
    """``python -m classifier.corpus [FILE ...]``: validate files and list near-duplicates and counts."""
    import sys
    from collections import Counter

    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args] or None
    try:
        items = list(iter_corpus(paths))
    except CorpusError as exc:
        print(f"schema error: {exc}")
        return 1
    counts = Counter((i.label, i.lang, i.kind, "hard" if i.hard_negative else "") for i in items)
    for key, n in sorted(counts.items()):
        print(" ".join(k for k in key if k), n)
    dups = find_near_duplicates(items)
    for d in dups[:200]:
        print(f"near-duplicate: {d.first} ~ {d.second} share {d.shared} 4-grams ({d.fraction:.0%})")
    print(f"{len(items)} items, {len(dups)} near-duplicate pairs")
    return 1 if dups else 0


if __name__ == "__main__":
    raise SystemExit(main())
