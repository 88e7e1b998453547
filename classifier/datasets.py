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
    scam_kind: str | None = None


@dataclass(frozen=True)
class DataFile:
    """A file the model was trained on, for the model card."""

    path: Path
    sha256: str
    rows: int


# The scam kind (classifier.records.SCAM_KINDS) of each scam scenario the corpus names: what advice fits.
SCENARIO_KINDS = {
    **dict.fromkeys(
        "free_robux free_vbucks free_diamonds free_skins fake_giveaway fake_prize lottery".split(),
        "free_currency",
    ),
    **dict.fromkeys(
        "phishing_login verification_code bank_alert parcel_delivery account_trade card_scam".split(),
        "phishing",
    ),
    **dict.fromkeys(("easy_job", "crypto", "loan_app", "fake_scholarship", "advance_fee"), "job_crypto"),
    "sextortion": "sextortion",
    "online_kidnapping": "online_kidnapping",
    **dict.fromkeys(
        ("impersonation", "parent_emergency", "fake_shop", "gift_card", "charity_fake"), "other_scam"
    ),
}


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
            text,
            "benign" if label == "ham" else "scam",
            "en",
            "message",
            "sms-mendeley",
            f"mendeley:{i}",
            scam_kind="phishing" if label == "smishing" else None,
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
                examples.append(
                    Example(text, "scam", "en", "page", "nazario", f"nazario:{i}", scam_kind="phishing")
                )
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


def load_chitchat_conversations(
    max_conversations: int | None = None, seed: int = 13
) -> list[tuple[str, list[str]]]:
    """``(key, turns)`` of everyday English chat between strangers (the ``chitchat-dataset`` wheel)."""
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
    out = []
    for key in keys:
        turns = [" ".join(m["text"] for m in turn) for turn in conversations[key]["messages"]]
        out.append((key, [t for t in turns if t.strip()]))
    return out


def load_chitchat(max_conversations: int | None = None, seed: int = 13) -> list[Example]:
    """Everyday English chat between strangers: messages and windows of one speaker's turns."""
    examples = []
    for key, turns in load_chitchat_conversations(max_conversations, seed):
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


def template_key(text: str, words: int = 6) -> str:
    """What messages sent from one template share: their first few words with every digit alike."""
    return " ".join(re.findall(r"\w+", re.sub(r"\d+", "0", fold(text)))[:words])


def load_vi_sms(root: Path) -> list[Example]:
    """Real Vietnamese SMS (IE403): ordinary commercial and service text next to real smishing. Grouped by
    message template, so that one carrier's or bank's template never straddles the train/test split."""
    path = root / "vi-sms-ie403" / "vi_sms_train.jsonl"
    examples = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            text = (row.get("text") or "").strip()
            if text:
                label = "scam" if row["label"] == "scam" else "benign"
                examples.append(
                    Example(text, label, "vi", "message", "vi-sms", f"vi-sms:{template_key(text)}")
                )
    return examples


# Where an offender's side of a Perverted-Justice chat turns risky: talk of sex or bodies, pictures and
# cameras, secrecy from parents, meeting. Age questions are left out on purpose: nearly every chat of the
# set opens with one, and the risk is what follows. Deliberately mild words; the model learns the explicit
# language from the data itself.
_RISK_CUE = re.compile(
    r"\b(?:sex\w*|naked|nude\w*|kiss\w*|touch\w*|bra|panties|underwear|lingerie|virgin|horny|bed|"
    r"shower|bikini|body|pics?|pictures?|photos?|cam|webcam|secret|don'?t tell|dont tell|ur mom|your mom|"
    r"parents|alone|meet|come over|pick (?:you|u) up|hotel|my place|love (?:you|u)|ily|make out)\b"
)
PJ_WINDOWS_PER_SIDE = 16
PJ_MESSAGES_PER_SIDE = 10
PJ_DECOY_WINDOWS_PER_SIDE = 8


def risk_start(messages: list[str]) -> int | None:
    """Index of an offender's first message that shows the risk (see ``_RISK_CUE``), or None."""
    for i, text in enumerate(messages):
        if _RISK_CUE.search(fold(text)):
            return i
    return None


def _spread[T](items: list[T], count: int) -> list[T]:
    """``count`` of ``items`` evenly spread over them (deterministic)."""
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(k * step)] for k in range(count)]


def iter_pj_chats(root: Path) -> Iterator[dict]:
    """The Perverted-Justice chats, one side per row. Never print or log their text."""
    with open(root / "grooming-perverted-justice" / "pj_chats.jsonl", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def load_pj_grooming(root: Path) -> list[Example]:
    """Real offenders' sides become grooming from where the risk starts (windows of their recent turns, and
    their risky single messages); decoy sides are what a child's side looks like: benign."""
    examples = []
    for row in iter_pj_chats(root):
        group = f"pj:{row['chat']}"
        turns = [m for m in row["messages"] if isinstance(m, str) and m.strip()]
        if row["role"] == "predator":
            start = risk_start(turns)
            if start is None:
                continue
            for end in _spread(list(range(start, len(turns))), PJ_WINDOWS_PER_SIDE):
                window = "\n".join(turns[max(start, end - WINDOW_TURNS + 1) : end + 1])
                examples.append(Example(window, "grooming", "en", "conversation", "pj-offender", group))
            risky = [i for i in range(start, len(turns)) if _RISK_CUE.search(fold(turns[i]))]
            for i in _spread(risky, PJ_MESSAGES_PER_SIDE):
                examples.append(Example(turns[i], "grooming", "en", "message", "pj-offender", group))
        else:
            ends = _spread(list(range(WINDOW_TURNS - 1, len(turns))), PJ_DECOY_WINDOWS_PER_SIDE)
            for end in ends:
                window = "\n".join(turns[end - WINDOW_TURNS + 1 : end + 1])
                examples.append(Example(window, "benign", "en", "conversation", "pj-decoy", group))
    return examples


# Real ordinary web pages, from Debian's documentation packages (HTML manuals as a browser shows them:
# navigation, headings, "Search", "Contents" and all). Read from the system at train time; a machine without
# the packages trains without them, and the model card lists what was there. Install with
#   apt-get install debian-handbook libreoffice-help-en-us libreoffice-help-vi maint-guide-vi python3-doc
PAGE_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("debian-handbook-en", "/usr/share/doc/debian-handbook/html/en-US", "en"),
    ("debian-handbook-vi", "/usr/share/doc/debian-handbook/html/vi-VN", "vi"),
    ("libreoffice-help-en", "/usr/share/libreoffice/help/en-US", "en"),
    ("libreoffice-help-vi", "/usr/share/libreoffice/help/vi", "vi"),
    ("maint-guide-vi", "/usr/share/doc/maint-guide-vi", "vi"),
    ("python3-doc", "/usr/share/doc/python3.11-doc/html", "en"),
)
PAGES_PER_SOURCE = 300
MIN_PAGE_CHARS = 200


def page_files(max_per_source: int = PAGES_PER_SOURCE) -> list[tuple[str, str, Path]]:
    """``(source, lang, path)`` of the documentation pages present on this machine, evenly sampled."""
    found = []
    for name, folder, lang in PAGE_SOURCES:
        paths = sorted(Path(folder).rglob("*.htm*")) if Path(folder).is_dir() else []
        found += [(name, lang, p) for p in _spread(paths, max_per_source)]
    return found


def load_pages(max_per_source: int = PAGES_PER_SOURCE) -> list[Example]:
    """Ordinary real pages (benign), as the page scorer reads them: title and visible text."""
    from classifier.extract import extract_visible_text

    examples = []
    for name, lang, path in page_files(max_per_source):
        try:
            page = extract_visible_text(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        text = page.combined()
        if len(text) >= MIN_PAGE_CHARS:
            examples.append(Example(text, "benign", lang, "page", f"pages:{name}", f"page:{path}"))
    return examples


def load_fetched_pages(max_per_source: int | None = None) -> list[Example]:
    """Ordinary real pages of the public repositories in :mod:`classifier.fetched_pages` (news, recipes, real
    sites' login forms, advice about scams, Roblox's docs) whose snapshots are on this machine (benign), read
    as the page scorer reads them."""
    from classifier.extract import extract_visible_text
    from classifier.fetched_pages import FETCHED_PAGE_SOURCES, page_group, read_pages
    from classifier.normalize import detect_lang
    from classifier.records import PageText

    examples = []
    for source in FETCHED_PAGE_SOURCES:
        pages = (
            page
            for path in _spread(source.paths(), max_per_source or source.per_source)
            for page in read_pages(source, path)
        )
        for page in pages:
            # HTML is read as the page scorer reads it; a Markdown or JSON page is already its text.
            visible = (
                extract_visible_text(page.content)
                if page.title is None
                else PageText(page.title, page.content)
            )
            text = visible.combined()
            if len(text) >= source.min_chars:
                # A language the source does not hold is a page in a third language (French, Portuguese,
                # Czech...), which a detector that knows two reads as "vi".
                detected = detect_lang(text)
                lang = detected if detected in source.languages else "other"
                group = page_group(source, page.path)
                examples.append(
                    Example(
                        text,
                        source.label,
                        lang,
                        "page",
                        source.example_source,
                        group,
                        scam_kind=source.scam_kind,
                    )
                )
    return examples


def load_kids_chat(max_per_source: int | None = None) -> list[Example]:
    """Children's and teenagers' own chat lines (:mod:`classifier.fetched_chat`) whose snapshots are on
    this machine: benign single messages, for the grooming classifier only."""
    from classifier.fetched_chat import FETCHED_CHAT_SOURCES, usable_lines
    from classifier.normalize import detect_lang

    examples = []
    for source in FETCHED_CHAT_SOURCES:
        for line in _spread(usable_lines(source), max_per_source or source.per_source):
            if detect_lang(line.text) == "en":
                examples.append(
                    Example(
                        line.text, "benign", "en", "message", source.example_source, f"kids-chat:{line.group}"
                    )
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
                    scam_kind=SCENARIO_KINDS.get(item.scenario) if item.label == "scam" else None,
                )
            )
            continue
        for text, _, staged in conversation_windows(item.messages):
            if item.label == "grooming" and not staged:
                continue
            kind = SCENARIO_KINDS.get(item.scenario) if item.label == "scam" else None
            examples.append(
                Example(
                    text,
                    item.label,
                    item.lang,
                    "conversation",
                    "corpus",
                    group,
                    item.hard_negative,
                    scam_kind=kind,
                )
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
        root / "vi-sms-ie403" / "vi_sms_train.jsonl",
        root / "grooming-perverted-justice" / "pj_chats.jsonl",
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
        load_vi_sms(shared),
        load_pj_grooming(shared),
        load_pages(limit_per_source or PAGES_PER_SOURCE),
        load_fetched_pages(limit_per_source),
        load_kids_chat(limit_per_source),
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
