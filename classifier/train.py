"""Train the risk model on the public datasets and the project's corpus; write the artifact and model card.

Deterministic: fixed seeds, and the train/validation/test split is a hash of each example's group, so a
conversation's windows never straddle the split and the same data always splits the same way.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
import scipy
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from classifier.card_markdown import card_markdown
from classifier.corpus import CORPUS_DIR, CorpusItem, iter_corpus
from classifier.datasets import (
    DEFAULT_SHARED_DATA,
    Example,
    load_all,
    load_domain_blocklist,
    sha256_file,
    shared_data_files,
)
from classifier.metrics import choose_threshold, precision_cut, report
from classifier.model import ARTIFACT_NAME, CARD_NAME, MAX_PAGE_CHARS, RiskModel, host_digest
from classifier.normalize import detect_lang, normalize
from classifier.records import ChatMessage

SEED = 20261123
SPLIT = {"train": 0.70, "validation": 0.15, "test": 0.15}
MAX_BENIGN_FALSE_ALERT_RATE = 0.01  # on validation; the product promise is < 2 % on unseen data
MAX_HARD_NEGATIVE_ALERT_RATE = 0.10  # on the validation hard negatives: benign text that looks risky
MAX_STAGE_NONE = 6000
HYPERPARAMETERS = {
    "word": {"ngram_range": (1, 2), "min_df": 2, "max_features": 150_000, "sublinear_tf": True},
    "char": {"ngram_range": (3, 5), "min_df": 3, "max_features": 150_000, "sublinear_tf": True},
    "logistic_C": 8.0,
    "class_weight": "balanced",
    "corpus_weight": 4.0,
    "hard_negative_weight": 8.0,
    "calibration": "sigmoid, 3-fold",
    "severity_medium_precision": 0.97,
    "severity_high_precision": 0.995,
}

Progress = Callable[[str], None]


def split_of(group: str, seed: int = SEED) -> str:
    """``train``, ``validation`` or ``test`` for a group, from a hash: stable across runs and machines."""
    h = int.from_bytes(hashlib.sha256(f"{seed}:{group}".encode()).digest()[:8], "big") / 2**64
    return (
        "train"
        if h < SPLIT["train"]
        else "validation"
        if h < SPLIT["train"] + SPLIT["validation"]
        else "test"
    )


def build_features() -> FeatureUnion:
    word = HYPERPARAMETERS["word"]
    char = HYPERPARAMETERS["char"]
    return FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(lowercase=False, token_pattern=r"(?u)\b\w\w+\b", dtype=np.float32, **word),
            ),
            ("char", TfidfVectorizer(lowercase=False, analyzer="char_wb", dtype=np.float32, **char)),
        ]
    )


def sample_weight(example: Example) -> float:
    """The project's own writing is in-domain for children's chat, and hard negatives are what a
    bag-of-words model finds hardest: both count for more than the large public sets."""
    if example.hard_negative:
        return HYPERPARAMETERS["hard_negative_weight"]
    if example.source.startswith(("corpus", "extra")):
        return HYPERPARAMETERS["corpus_weight"]
    return 1.0


def _calibrated_logistic() -> CalibratedClassifierCV:
    base = LogisticRegression(
        C=HYPERPARAMETERS["logistic_C"],
        class_weight=HYPERPARAMETERS["class_weight"],
        solver="liblinear",
        max_iter=2000,
        random_state=SEED,
    )
    return CalibratedClassifierCV(base, method="sigmoid", cv=3, ensemble=False)


def _normalized(examples: Iterable[Example]) -> list[str]:
    texts = []
    for ex in examples:
        text = ex.text[:MAX_PAGE_CHARS]
        texts.append(normalize(text, detect_lang(text)))
    return texts


def train(
    shared: Path = DEFAULT_SHARED_DATA,
    out_dir: Path | None = None,
    *,
    corpus_paths: list[Path] | None = None,
    extra: list[Example] | None = None,
    limit_per_source: int | None = None,
    chitchat_conversations: int | None = 3000,
    version: str | None = None,
    progress: Progress = print,
) -> dict:
    """Train, evaluate on the held-out split, and write the artifact and its card to ``out_dir``."""
    from classifier.model import MODELS_DIR

    started = time.perf_counter()
    out_dir = Path(out_dir) if out_dir else MODELS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    progress(f"loading data from {shared} and {CORPUS_DIR if corpus_paths is None else 'given corpus'}")
    examples = load_all(
        shared,
        corpus_paths,
        chitchat_conversations=chitchat_conversations,
        limit_per_source=limit_per_source,
        seed=SEED,
    )
    examples += list(extra or [])
    parts: dict[str, list[Example]] = defaultdict(list)
    for ex in examples:
        parts[split_of(ex.group)].append(ex)
    train_set, val_set, test_set = parts["train"], parts["validation"], parts["test"]
    progress(
        f"{len(examples)} examples: train {len(train_set)}, validation {len(val_set)}, test {len(test_set)}"
    )

    progress("normalising text")
    x_text = {name: _normalized(part) for name, part in parts.items()}
    progress("fitting features (word 1-2 grams + character 3-5 grams, TF-IDF)")
    features = build_features().fit(x_text["train"])
    x = {name: features.transform(texts) for name, texts in x_text.items()}
    weights = np.array([sample_weight(ex) for ex in train_set])

    classifiers = {}
    for label in ("scam", "grooming"):
        progress(f"fitting the {label} classifier (logistic regression, sigmoid-calibrated)")
        y = np.array([ex.label == label for ex in train_set])
        classifiers[label] = _calibrated_logistic().fit(x["train"], y, sample_weight=weights)

    progress("fitting the grooming-stage classifier")
    stage_model = _fit_stage_model(features, train_set)

    progress("choosing thresholds on validation data")
    thresholds = {}
    val_benign = [ex.label == "benign" for ex in val_set]
    val_hard = [ex.hard_negative for ex in val_set]
    for label, clf in classifiers.items():
        p = clf.predict_proba(x["validation"])[:, 1]
        t = choose_threshold(
            [ex.label == label for ex in val_set],
            p,
            val_benign,
            MAX_BENIGN_FALSE_ALERT_RATE,
            val_hard,
            MAX_HARD_NEGATIVE_ALERT_RATE,
        )
        is_label = [ex.label == label for ex in val_set]
        medium = precision_cut(is_label, p, t, HYPERPARAMETERS["severity_medium_precision"])
        high = precision_cut(is_label, p, medium, HYPERPARAMETERS["severity_high_precision"])
        thresholds[label] = {
            "alert": round(t, 4),
            "medium": round(medium, 4),
            "high": round(max(medium, high), 4),
        }
    progress(f"thresholds: {thresholds}")

    listed_hosts, listed_pages = load_domain_blocklist(shared)
    blocked = sorted({host_digest(h) for h in listed_hosts})
    blocked_pages = sorted({host_digest(p) for p in listed_pages})
    version = version or datetime.now(UTC).strftime("%Y.%m.%d-%H%M")
    artifact = {
        "version": version,
        "features": features,
        "scam": classifiers["scam"],
        "grooming": classifiers["grooming"],
        "stage": stage_model,
        "stage_threshold": 0.5,
        "thresholds": thresholds,
        "blocked_hosts": blocked,
        "blocked_pages": blocked_pages,
    }
    artifact_path = out_dir / ARTIFACT_NAME
    joblib.dump(artifact, artifact_path, compress=3)

    model = RiskModel(artifact)
    progress("evaluating on the held-out test split")
    metrics = evaluate_examples(model, test_set)
    test_conversations = [
        item
        for item in iter_corpus(corpus_paths)
        if item.kind == "conversation" and split_of(f"corpus:{item.id}") == "test"
    ]
    if limit_per_source is None:
        metrics["grooming_timing"] = grooming_timing(model, test_conversations)
    card = {
        "name": "NotAlone scam and grooming risk model",
        "version": version,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "artifact": {
            "file": ARTIFACT_NAME,
            "sha256": sha256_file(artifact_path),
            "bytes": artifact_path.stat().st_size,
        },
        "model": "TF-IDF word 1-2 grams + char_wb 3-5 grams on normalised text (diacritics folded, "
        "teen-code expanded, leetspeak decoded, URLs/phones/money/accounts as tokens); one "
        "sigmoid-calibrated logistic regression per risk; a multinomial logistic regression for "
        "grooming stages; page hosts checked against a hashed phishing blocklist",
        "data": _data_files(shared, corpus_paths),
        "split": {
            "method": "sha256(seed:group) -> 70/15/15; conversation windows grouped by conversation",
            "seed": SEED,
            "sizes": {k: len(v) for k, v in parts.items()},
        },
        "thresholds": thresholds,
        "threshold_policy": f"alert: best validation F1 with benign false alerts <= "
        f"{MAX_BENIGN_FALSE_ALERT_RATE:.0%} and hard-negative false alerts <= "
        f"{MAX_HARD_NEGATIVE_ALERT_RATE:.0%}; medium and high: the lowest probabilities from which "
        f"validation alerts were right {HYPERPARAMETERS['severity_medium_precision']:.0%} and "
        f"{HYPERPARAMETERS['severity_high_precision']:.0%} of the time",
        "hyperparameters": {
            k: (list(v.items()) if isinstance(v, dict) else v) for k, v in HYPERPARAMETERS.items()
        },
        "metrics": metrics,
        "blocked_hosts": len(blocked),
        "blocked_pages": len(blocked_pages),
        "training_seconds": round(time.perf_counter() - started, 1),
        "libraries": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "joblib": joblib.__version__,
        },
        "limitations": [
            "No public dataset labels grooming or kid-targeted scams; those figures come from the project's "
            "own hand-written corpus and are optimistic for real chat.",
            "UCI SMS spam is 2000s premium-rate marketing; its figures overstate modern smishing "
            "performance.",
            "Pages are scored on their title and first 2,500 characters of visible text.",
        ],
    }
    (out_dir / CARD_NAME).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / CARD_NAME).with_suffix(".md").write_text(card_markdown(card), encoding="utf-8")
    progress(
        f"wrote {artifact_path} ({card['artifact']['bytes'] / 1e6:.1f} MB) and {out_dir / CARD_NAME} "
        f"in {card['training_seconds']} s"
    )
    return card


def _fit_stage_model(features: FeatureUnion, train_set: list[Example]) -> LogisticRegression | None:
    staged = [ex for ex in train_set if ex.stage]
    if len({ex.stage for ex in staged}) < 2:
        return None
    none = [ex for ex in train_set if ex.label == "benign" and ex.kind == "message"]
    rng = np.random.default_rng(SEED)
    if len(none) > MAX_STAGE_NONE:
        none = [none[i] for i in sorted(rng.choice(len(none), MAX_STAGE_NONE, replace=False))]
    texts = _normalized(staged + none)
    labels = [ex.stage for ex in staged] + ["none"] * len(none)
    model = LogisticRegression(C=4.0, max_iter=3000, random_state=SEED, class_weight="balanced")
    return model.fit(features.transform(texts), labels)


def evaluate_examples(model: RiskModel, examples: list[Example]) -> dict:
    """Metrics overall, per language and per source (and for the hard negatives) on ``examples``."""
    scores = model.score_messages([ex.text for ex in examples], kind="page")
    result = {"overall": _report(examples, scores)}
    for key, name in (("lang", "per_language"), ("source", "per_source"), ("kind", "per_kind")):
        groups: dict[str, list[int]] = defaultdict(list)
        for i, ex in enumerate(examples):
            groups[getattr(ex, key)].append(i)
        result[name] = {
            g: _report([examples[i] for i in idx], [scores[i] for i in idx])
            for g, idx in sorted(groups.items())
        }
    hard = [i for i, ex in enumerate(examples) if ex.hard_negative]
    if hard:
        result["hard_negatives"] = _report([examples[i] for i in hard], [scores[i] for i in hard])
    return result


def grooming_timing(model: RiskModel, conversations: list[CorpusItem]) -> dict:
    """How early the conversation scorer alerts, replaying each held-out conversation turn by turn.

    For grooming conversations: the share detected, and how many turns after the first grooming stage
    the first alert came. For benign conversations: the share that ever raised an alert.
    """
    delays: list[int] = []
    missed = 0
    benign_alerted = benign_total = 0
    for item in conversations:
        messages = [ChatMessage(m["from"], m["text"], m["role"] == "child") for m in item.messages]
        first_alert = next(
            (
                k
                for k in range(1, len(messages) + 1)
                if model.score_conversation(messages[:k]).alert is not None
            ),
            None,
        )
        if item.label == "grooming":
            first_stage = next(i for i, m in enumerate(item.messages) if m.get("stage"))
            if first_alert is None:
                missed += 1
            else:
                delays.append(first_alert - 1 - first_stage)
        elif item.label == "benign":
            benign_total += 1
            benign_alerted += first_alert is not None
    detected = len(delays)
    return {
        "grooming_conversations": detected + missed,
        "detected": round(detected / max(1, detected + missed), 4),
        "median_turns_after_first_stage": float(np.median(delays)) if delays else None,
        "alerted_before_or_at_first_stage": round(sum(d <= 0 for d in delays) / max(1, detected), 4),
        "benign_conversations": benign_total,
        "benign_conversations_alerted": round(benign_alerted / max(1, benign_total), 4),
    }


def _report(examples: list[Example], scores: list) -> dict:
    return report(
        [ex.label for ex in examples],
        [s.alert for s in scores],
        {"scam": [s.scam for s in scores], "grooming": [s.grooming for s in scores]},
    )


def _data_files(shared: Path, corpus_paths: list[Path] | None) -> list[dict]:
    files = []
    for path in shared_data_files(shared):
        if path.exists():
            files.append({"path": f"../shared/data/{path.relative_to(shared)}", "sha256": sha256_file(path)})
    corpus = corpus_paths if corpus_paths is not None else sorted(CORPUS_DIR.glob("*.jsonl"))
    root = CORPUS_DIR.parent.parent
    for path in corpus:
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        files.append({"path": str(shown), "sha256": sha256_file(path)})
    files.append(
        {"path": "chitchat-dataset (PyPI wheel) chitchat_dataset/dataset.json", "sha256": _chitchat_sha()}
    )
    return files


def _chitchat_sha() -> str:
    try:
        import chitchat_dataset
    except ImportError:
        return "not installed"
    return sha256_file(Path(chitchat_dataset.__file__).parent / "dataset.json")
