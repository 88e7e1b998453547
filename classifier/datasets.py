"""Training examples from the public datasets in ``../shared/data`` and the project's own corpus.

Every example carries its label (``scam``, ``grooming``, ``benign``), language, kind and source, and a
``group`` so that all windows cut from one conversation land on the same side of the train/test split.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from classifier.corpus import CorpusItem, iter_corpus
from classifier.folding import fold

DEFAULT_SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

# Grooming windows: how many recent turns of a conversation the scorer looks at.
WINDOW_TURNS = 8


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    lang: str
    kind: str
    source: str
    group: str
    hard_negative: bool = False
    stage: str | None = None


@dataclass(frozen=True)
class DataFile:
    """A file the model was trained on, for the model card."""

    path: Path
    sha256: str
    rows: int


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tsv(path: Path) -> Iterator[tuple[str, str]]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline()
        if not header.lower().startswith("label"):
            raise ValueError(f"{path}: expected a 'label<TAB>text' header, got {header[:40]!r}")
        for line in fh:
            label, _, text = line.rstrip("\n").partition("\t")
            if text.strip():
                yield label.strip().lower(), text.strip()


def load_sms_uci(root: Path) -> list[Example]:
    path = root / "sms-spam-uci" / "sms_spam_train.tsv"
    return [
        Example(text, "scam" if label == "spam" else "benign", "en", "message", "sms-uci", f"uci:{i}")
        for i, (label, text) in enumerate(_tsv(path))
    ]


def load_sms_mendeley(root: Path) -> list[Example]:
    path = root / "sms-smishing-mendeley" / "smishing_train.tsv"
    return [
        Example(
            text, "benign" if label == "ham" else "scam", "en", "message", "sms-mendeley", f"mendeley:{i}"
        )
        for i, (label, text) in enumerate(_tsv(path))
    ]


def load_nazario(root: Path, max_chars: int = 3000) -> list[Example]:
    """Phishing e-mails (all positive); subject and the start of the body, as a phishing page reads."""
    path = root / "phishing-email-nazario" / "nazario_phishing.jsonl"
    examples = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            row = json.loads(line)
            body = re.sub(r"\s+", " ", row.get("body") or "").strip()
            text = f"{row.get('subject') or ''}\n{body}"[:max_chars].strip()
            if text:
                examples.append(Example(text, "scam", "en", "page", "nazario", f"nazario:{i}"))
    return examples


def load_vihsd(root: Path) -> list[Example]:
    """Vietnamese social-media comments: clean, offensive and hateful alike are benign for our two risks."""
    examples = []
    for name in ("train.csv", "dev.csv"):
        with open(root / "vi-comments-vihsd" / name, encoding="utf-8", newline="") as fh:
            for i, row in enumerate(csv.DictReader(fh)):
                text = (row.get("free_text") or "").strip()
                if text:
                    examples.append(Example(text, "benign", "vi", "message", "vihsd", f"vihsd:{name}:{i}"))
    return examples


def load_chitchat(max_conversations: int | None = None, seed: int = 13) -> list[Example]:
    """Everyday English chat between strangers (the ``chitchat-dataset`` wheel): messages and windows."""
    try:
        import chitchat_dataset
    except ImportError:
        return []
    path = Path(chitchat_dataset.__file__).parent / "dataset.json"
    with open(path, encoding="utf-8") as fh:
        conversations = json.load(fh)
    keys = sorted(conversations)
    random.Random(seed).shuffle(keys)
    if max_conversations is not None:
        keys = keys[:max_conversations]
    examples = []
    for key in keys:
        turns = [" ".join(m["text"] for m in turn) for turn in conversations[key]["messages"]]
        turns = [t for t in turns if t.strip()]
        for i, turn in enumerate(turns[:6]):
            examples.append(Example(turn, "benign", "en", "message", "chitchat", f"chitchat:{key}:{i}"))
        # A window of the other speaker's turns, as the grooming scorer sees a counterpart.
        for start in range(0, max(1, len(turns) - 1), WINDOW_TURNS * 2):
            window = turns[start : start + WINDOW_TURNS * 2 : 2]
            if len(window) >= 3:
                examples.append(
                    Example("\n".join(window), "benign", "en", "conversation", "chitchat", f"chitchat:{key}")
                )
    return examples


def conversation_windows(
    messages: Iterable[dict], window: int = WINDOW_TURNS
) -> Iterator[tuple[str, int, bool]]:
    """For each counterpart turn: the text of that counterpart's last ``window`` turns, the turn's index,
    and whether a grooming stage has been shown by then."""
    by_sender: dict[str, list[str]] = {}
    staged: dict[str, bool] = {}
    for index, message in enumerate(messages):
        if message.get("role") == "child":
            continue
        sender = message["from"]
        by_sender.setdefault(sender, []).append(message["text"])
        staged[sender] = staged.get(sender, False) or bool(message.get("stage"))
        yield "\n".join(by_sender[sender][-window:]), index, staged[sender]


def examples_from_corpus(items: Iterable[CorpusItem]) -> list[Example]:
    """Corpus items as training examples; conversations become windows. Grooming windows before the
    first grooming stage are left out: they are small talk, and teaching them as grooming would be wrong."""
    examples = []
    for item in items:
        group = f"corpus:{item.id}"
        if item.kind != "conversation":
            examples.append(
                Example(
                    item.text,
                    item.label,
                    item.lang,
                    item.kind,
                    "corpus",
                    group,
                    item.hard_negative,
                    stage=item.stage,
                )
            )
            continue
        for text, _, staged in conversation_windows(item.messages):
            if item.label == "grooming" and not staged:
                continue
            examples.append(
                Example(text, item.label, item.lang, "conversation", "corpus", group, item.hard_negative)
            )
        for message in item.messages:
            if message.get("stage"):
                examples.append(
                    Example(
                        message["text"],
                        "grooming",
                        item.lang,
                        "message",
                        "corpus-stage",
                        group,
                        stage=message["stage"],
                    )
                )
    return examples


def dedupe(examples: Iterable[Example]) -> list[Example]:
    """Drop examples whose folded, whitespace-collapsed text was already seen (first one wins)."""
    seen: set[str] = set()
    kept = []
    for ex in examples:
        key = " ".join(re.findall(r"\w+", fold(ex.text)))
        if key and key not in seen:
            seen.add(key)
            kept.append(ex)
    return kept


def shared_data_files(root: Path) -> list[Path]:
    return [
        root / "sms-spam-uci" / "sms_spam_train.tsv",
        root / "sms-smishing-mendeley" / "smishing_train.tsv",
        root / "phishing-email-nazario" / "nazario_phishing.jsonl",
        root / "vi-comments-vihsd" / "train.csv",
        root / "vi-comments-vihsd" / "dev.csv",
        root / "vi-phishing-domains-chongluadao" / "domains.txt",
    ]


def load_all(
    shared: Path,
    corpus_paths: list[Path] | None = None,
    chitchat_conversations: int | None = 3000,
    limit_per_source: int | None = None,
    seed: int = 13,
) -> list[Example]:
    """Every source, de-duplicated; ``limit_per_source`` takes a small slice of each (for tests)."""
    sources = [
        load_sms_uci(shared),
        load_sms_mendeley(shared),
        load_nazario(shared),
        load_vihsd(shared),
        load_chitchat(chitchat_conversations, seed=seed),
        examples_from_corpus(iter_corpus(corpus_paths)),
    ]
    if limit_per_source is not None:
        rng = random.Random(seed)
        sliced = []
        for source in sources:
            source = list(source)
            rng.shuffle(source)
            sliced.append(source[:limit_per_source])
        sources = sliced
    return dedupe(ex for source in sources for ex in source)


def blocklist_key(url: str) -> tuple[str, str]:
    """``(host, path)`` of a blocklist entry or a visited URL, in the one form both are compared in: lower
    case, no scheme, port, ``www.`` or fragment, the path percent-decoded and without a trailing slash (the
    query kept, since some listed pages differ only by it)."""
    entry = url.strip()
    entry = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", entry).split("#", 1)[0]
    host, sep, path = entry.partition("/")
    if not sep and "?" in host:
        host, _, query = host.partition("?")
        path = "?" + query
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].lower().strip(".")
    if host.startswith("www."):
        host = host[4:]
    path = unquote(path).lower().rstrip("/")
    return host, path


def load_domain_blocklist(shared: Path) -> tuple[list[str], list[str]]:
    """The Chống Lừa Đảo phishing blocklist as it lists things: ``(hosts, pages)``.

    A bare host entry lists the host (and its subdomains). An entry with a path lists one page, for
    example a scam page on www.facebook.com: that is a URL prefix (``host/path``), never the whole platform.
    """
    hosts, pages = [], []
    with open(shared / "vi-phishing-domains-chongluadao" / "domains.txt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            host, path = blocklist_key(line)
            if "." not in host:
                continue
            if path:
                pages.append(f"{host}/{path.lstrip('/')}")
            else:
                hosts.append(host)
    return hosts, pages
