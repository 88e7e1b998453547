"""Train the risk model on the public datasets and the project's corpus; write the artifact and model card.

Deterministic: fixed seeds, and the train/validation/test split is a hash of each example's group, so a
conversation's windows never straddle the split and the same data always splits the same way.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.frozen import FrozenEstimator
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
from classifier.features import VectorizerSpec
from classifier.fetched_chat import FETCHED_CHAT_SOURCES
from classifier.fetched_chat import SOURCE_PREFIX as KIDS_CHAT_PREFIX
from classifier.fetched_pages import FETCHED_PAGE_SOURCES
from classifier.metrics import choose_threshold, precision_cut, report
from classifier.model import ARTIFACT_NAME, CARD_NAME, MAX_PAGE_CHARS, RiskModel, host_digest, read_artifact
from classifier.normalize import detect_lang, normalize
from classifier.records import RISKS, ChatMessage
from classifier.snapshots import snapshot_commit

SEED = 20261123
SPLIT = {"train": 0.70, "validation": 0.15, "test": 0.15}
MAX_BENIGN_FALSE_ALERT_RATE = 0.01  # on validation; the product promise is < 2 % on unseen data
# On the validation hard negatives (benign text written to look risky), per risk. Scam-like hard
# negatives (promotions, bank notices, a parent relaying a code, warnings that quote a scam) are what
# ordinary service text and pages look like, so they keep the product's 2 %. Grooming-like ones (a surprise
# kept secret, a coach asking ages) are told apart mostly by the conversation around them
# (model.conversation_trace); held to 2 % one item at a time, the grooming threshold would give up a third
# of its recall.
MAX_HARD_NEGATIVE_ALERT_RATE = {"scam": 0.02, "grooming": 0.10}
# Real message sources whose ordinary messages each keep their own scam false-alert cap on validation: the
# large sources would otherwise let a small one (real Vietnamese SMS) carry most of the false alerts. 3 %,
# not the product's 2 %: on the 138 validation messages of the smallest source 2 % is two messages, and that
# step moved the threshold far enough to cost a tenth of the written scams' recall.
CAPPED_SOURCES = ("vi-sms", "sms-uci", "sms-mendeley")
MAX_SOURCE_FALSE_ALERT_RATE = 0.03
MAX_STAGE_NONE = 6000
HYPERPARAMETERS = {
    "word": {"ngram_range": (1, 2), "min_df": 2, "max_features": 150_000, "sublinear_tf": True},
    "char": {"ngram_range": (3, 5), "min_df": 3, "max_features": 150_000, "sublinear_tf": True},
    "logistic_C": 8.0,
    "class_weight": "balanced",
    "corpus_weight": 3.0,
    "hard_negative_weight": 12.0,
    # Real Vietnamese SMS is small next to the other sources, and the only real ordinary Vietnamese
    # service text: it counts double.
    "source_weights": {"vi-sms": 2.0},
    "calibration": "sigmoid, fitted on the validation split",
    "severity_medium_precision": 0.97,
    "severity_high_precision": 0.995,
}

Progress = Callable[[str], None]


LIMITATIONS = [
    (
        "The artifact's vocabularies hold the word and character n-grams the model learned, those from"
        " the Perverted-Justice chats included: short explicit phrases can be read from"
        " models/notalone-model.npz. No chat, message or sentence of that data is stored; treat the"
        " artifact as sensitive all the same."
    ),
    (
        "Real grooming data is the Perverted-Justice chats only (English, 2004-2016, adult decoys, one site);"
        " a chat's risk start is found by a list of mild cue words, not by hand. Vietnamese grooming, today's"
        " platforms and kid-targeted scams come from the project's own writing: those rows are optimistic."
    ),
    (
        "Real Vietnamese SMS (IE403) is small: 27 held-out scams, so its figures move a lot with a few"
        " messages. The project's ~730 written Vietnamese service and smishing SMS carry much of what it"
        " knows of ordinary carrier and bank text: without the real set (leave-one-source-out) a quarter"
        " of its ordinary messages alert."
    ),
    (
        "Real ordinary pages are documentation (Debian handbook, LibreOffice help, Python docs, EN and VI, "
        "from Debian packages) and, read from public repositories' snapshots when they are on the machine "
        "(the card names each with its commit): news and blog pages, recipe pages, the login and sign-up "
        "parts of real sites' pages, UK consumer advice about scams, and Roblox's creator docs (from their "
        "Markdown, not the site's HTML). Real Vietnamese pages are documentation only; Vietnamese news, "
        "promotions and login pages are the project's own writing. Real phishing pages are phishing kits' "
        "pages (cloned login pages, mostly 2017-2021, their PHP removed, so thinner than what a victim "
        "sees), fake Free Fire prize pages and archived scam pages aimed at gamers: about six in ten "
        "held out are caught (the per-source rows), and a kit unlike any trained on is mostly missed "
        "(leave-one-source-out recall 0.10). Real "
        "login forms alert more than other ordinary pages (4 of 21 held out): their words are the words "
        "phishing pages copy, and only the address tells them apart. With an address (the proxy always has "
        "one), a sign-in page whose title names a brand is checked against it: off the brand's host it is "
        "phishing, on it the real page; the figures here are measured without addresses."
    ),
    (
        "The leave-one-source-out table shows how much each real source is needed: without the Vietnamese "
        "SMS, a quarter of ordinary Vietnamese commercial text alerts; without the real chats, real "
        "offenders are missed."
    ),
    (
        "Children's own chat lines come from two public sources read from their snapshots (lines of"
        " Roblox hangout servers' chat logged in 2025, and r/teenagers post titles). Nobody labelled them:"
        " they teach the grooming classifier only (the hangout logs hold trade talk and scam bait), a risky"
        " line among them is taught as ordinary, and their held-out rows measure short English lines only."
        " Vietnamese children's chat is the project's own writing."
    ),
    (
        "UCI SMS spam is 2000s premium-rate marketing; its figures overstate modern smishing performance. Its"
        " ordinary messages include adults' sexting, which reads as grooming aimed at a child: most of its"
        " false alerts are those, and a child's device should flag them."
    ),
    (
        "Pages are scored on their title and first 2,500 characters of visible main text (navigation, footers"
        " and sidebars left out)."
    ),
]


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
    return HYPERPARAMETERS["source_weights"].get(example.source, 1.0)


def teaches(example: Example, risk: str) -> bool:
    """Whether ``example`` trains, calibrates and sets the threshold of ``risk``'s classifier: children's own
    chat lines (:mod:`classifier.fetched_chat`, unlabelled, scam bait among them) teach grooming only."""
    return risk == "grooming" or not example.source.startswith(KIDS_CHAT_PREFIX)


def _calibrated_logistic(x_train, y_train, weights, x_val, y_val) -> CalibratedClassifierCV:
    """A logistic regression fitted once on the training split, its probabilities calibrated (sigmoid) on
    the validation split: one fit instead of one per fold, so that training fits a small machine."""
    base = LogisticRegression(
        C=HYPERPARAMETERS["logistic_C"],
        class_weight=HYPERPARAMETERS["class_weight"],
        solver="liblinear",
        max_iter=2000,
        random_state=SEED,
    ).fit(x_train, y_train, sample_weight=weights)
    return CalibratedClassifierCV(FrozenEstimator(base), method="sigmoid").fit(x_val, y_val)


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
    leave_one_out: bool = False,
) -> dict:
    """Train, evaluate on the held-out split, and write the artifact and its card to ``out_dir``."""
    from classifier.model import MODELS_DIR

    started = time.perf_counter()
    out_dir = Path(out_dir) if out_dir else MODELS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    progress(f"loading data from {shared} and {CORPUS_DIR if corpus_paths is None else 'given corpus'}")
    examples = all_examples(shared, corpus_paths, chitchat_conversations, limit_per_source)
    examples += list(extra or [])
    snapshots = _snapshots()
    missing = sorted({s.repository for s in SNAPSHOT_SOURCES} - {s["repository"] for s in snapshots})
    if missing:
        progress(f"snapshots not on this machine, so trained without them: {', '.join(missing)}")
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
    # Each risk's validation rows: what calibrates its classifier and then sets its thresholds.
    val_rows = {label: [i for i, ex in enumerate(val_set) if teaches(ex, label)] for label in RISKS}
    for label in RISKS:
        progress(f"fitting the {label} classifier (logistic regression, sigmoid-calibrated)")
        rows = np.array([teaches(ex, label) for ex in train_set])
        y = np.array([ex.label == label for ex in train_set])
        y_val = np.array([val_set[i].label == label for i in val_rows[label]])
        classifiers[label] = _calibrated_logistic(
            x["train"][rows], y[rows], weights[rows], x["validation"][val_rows[label]], y_val
        )

    progress("fitting the grooming-stage classifier")
    stage_model = _fit_stage_model(features, train_set)
    progress("fitting the scam-kind classifier")
    kind_model = _fit_kind_model(x["train"], train_set)

    progress("choosing thresholds on validation data")
    thresholds = {}
    for label, clf in classifiers.items():
        judged = [val_set[i] for i in val_rows[label]]
        val_benign = [ex.label == "benign" for ex in judged]
        val_hard = [ex.hard_negative for ex in judged]
        source_benign = [
            [ex.source == source and ex.label == "benign" for ex in judged] for source in CAPPED_SOURCES
        ]
        p = clf.predict_proba(x["validation"][val_rows[label]])[:, 1]
        t = choose_threshold(
            [ex.label == label for ex in judged],
            p,
            val_benign,
            MAX_BENIGN_FALSE_ALERT_RATE,
            val_hard,
            MAX_HARD_NEGATIVE_ALERT_RATE[label],
            # Scam only: the real SMS sources' ordinary messages that read as grooming are mostly adults'
            # sexting, which a child's device should flag.
            source_benign if label == "scam" else (),
            MAX_SOURCE_FALSE_ALERT_RATE,
        )
        is_label = [ex.label == label for ex in judged]
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
    artifact = plain_artifact(
        version, features, classifiers, stage_model, kind_model, thresholds, blocked, blocked_pages
    )
    artifact_path = out_dir / ARTIFACT_NAME
    write_artifact(artifact_path, artifact)

    model = RiskModel(read_artifact(artifact_path))
    progress("checking that the plain scorer scores the held-out split exactly as the trained pipeline")
    parity = pipeline_parity(model, features, classifiers, stage_model, kind_model, x_text["test"][:3000])
    progress("evaluating on the held-out test split")
    metrics = evaluate_examples(model, test_set)
    test_conversations = [
        item
        for item in iter_corpus(corpus_paths)
        if item.kind == "conversation" and split_of(f"corpus:{item.id}") == "test"
    ]
    metrics["grooming_timing"] = grooming_timing(model, test_conversations)
    progress("replaying held-out real chats (Perverted-Justice offenders and decoys, chitchat)")
    metrics["real_conversations"] = real_conversation_replay(
        model, shared, chitchat_conversations, max_chats=None if limit_per_source is None else 6
    )
    metrics["calibration"] = calibration_table(model, test_set)
    metrics["scam_kinds"] = kind_report(model, test_set)
    if leave_one_out:
        metrics["leave_one_source_out"] = leave_one_source_out(model, x, parts, weights, progress)
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
        "snapshots": snapshots,
        "split": {
            "method": "sha256(seed:group) -> 70/15/15; conversation windows grouped by conversation",
            "seed": SEED,
            "sizes": {k: len(v) for k, v in parts.items()},
        },
        "thresholds": thresholds,
        "threshold_policy": _threshold_policy(),
        "hyperparameters": {
            k: (list(v.items()) if isinstance(v, dict) else v) for k, v in HYPERPARAMETERS.items()
        },
        "metrics": metrics,
        "parity": parity,
        "blocked_hosts": len(blocked),
        "blocked_pages": len(blocked_pages),
        "training_seconds": round(time.perf_counter() - started, 1),
        "libraries": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "limitations": LIMITATIONS,
    }
    (out_dir / CARD_NAME).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / CARD_NAME).with_suffix(".md").write_text(card_markdown(card), encoding="utf-8")
    progress(
        f"wrote {artifact_path} ({card['artifact']['bytes'] / 1e6:.1f} MB) and {out_dir / CARD_NAME} "
        f"in {card['training_seconds']} s"
    )
    return card


def _calibrated_linear(classifier: CalibratedClassifierCV) -> tuple[np.ndarray, float, tuple[float, float]]:
    """Weights, intercept and sigmoid calibration ``(a, b)`` of a calibrated linear model with one
    calibrated classifier: ``p = expit(-(a * (x @ w + intercept) + b))``."""
    (calibrated,) = classifier.calibrated_classifiers_
    (calibrator,) = calibrated.calibrators
    estimator = calibrated.estimator
    estimator = getattr(estimator, "estimator", estimator)  # unwrap a FrozenEstimator
    return (
        np.asarray(estimator.coef_).ravel(),
        float(np.ravel(estimator.intercept_)[0]),
        (float(calibrator.a_), float(calibrator.b_)),
    )


def _class_weights(model: LogisticRegression) -> tuple[np.ndarray, np.ndarray]:
    """``(features x classes, classes)`` linear scores of a fitted logistic regression whose argmax (and,
    for a multinomial model, softmax) is its prediction. Two classes: ``[-z/2, z/2]``, whose softmax is
    the binary model's sigmoid."""
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return coef.T.astype(np.float32), intercept


def _utf8(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def plain_artifact(
    version: str,
    features: FeatureUnion,
    classifiers: dict[str, CalibratedClassifierCV],
    stage_model: LogisticRegression | None,
    kind_model: LogisticRegression | None,
    thresholds: dict,
    blocked_hosts: list[str],
    blocked_pages: list[str],
) -> dict[str, np.ndarray]:
    """The fitted pipeline as plain arrays and JSON (what :class:`RiskModel` reads): vocabularies in column
    order, idf, the linear weights, intercepts and calibrations."""
    arrays: dict[str, np.ndarray] = {}
    specs = []
    for name, vectorizer in features.transformer_list:
        spec = VectorizerSpec.of(name, vectorizer)
        specs.append({**spec.__dict__, "ngram_range": list(spec.ngram_range)})
        terms = [""] * len(vectorizer.vocabulary_)
        for term, column in vectorizer.vocabulary_.items():
            terms[column] = term
        arrays[f"vocab_{name}"] = _utf8(json.dumps(terms, ensure_ascii=False))
        arrays[f"idf_{name}"] = np.asarray(vectorizer.idf_, dtype=np.float64)
    risks = list(classifiers)
    linear = [_calibrated_linear(classifiers[k]) for k in risks]
    arrays["weights"] = np.column_stack([w for w, _, _ in linear]).astype(np.float32)
    arrays["intercepts"] = np.array([b for _, b, _ in linear])
    arrays["calibration"] = np.array([ab for _, _, ab in linear])
    meta = {
        "format": 1,
        "version": version,
        "risks": risks,
        "thresholds": thresholds,
        "vectorizers": specs,
        "stage_threshold": 0.5,
    }
    if stage_model is not None:
        meta["stages"] = [str(c) for c in stage_model.classes_]
        arrays["stage_weights"], arrays["stage_intercepts"] = _class_weights(stage_model)
    if kind_model is not None:
        meta["kinds"] = [str(c) for c in kind_model.classes_]
        arrays["kind_weights"], arrays["kind_intercepts"] = _class_weights(kind_model)
    arrays["meta"] = _utf8(json.dumps(meta, ensure_ascii=False, sort_keys=True))
    arrays["blocked_hosts"] = _utf8(json.dumps(blocked_hosts))
    arrays["blocked_pages"] = _utf8(json.dumps(blocked_pages))
    return arrays


def write_artifact(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz (a zip of .npy arrays) written byte for byte the same for the same arrays: fixed member
    order and timestamps, so that the same data and seed give the same sha256."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            archive.writestr(info, buffer.getvalue())


def pipeline_parity(
    model: RiskModel,
    features: FeatureUnion,
    classifiers: dict[str, CalibratedClassifierCV],
    stage_model: LogisticRegression | None,
    kind_model: LogisticRegression | None,
    normalized: list[str],
) -> dict:
    """How far the plain scorer's figures are from the trained scikit-learn pipeline's on ``normalized``
    texts: the largest probability difference per risk and for the stages, and kind disagreements."""
    x_pipeline = features.transform(normalized)
    x_plain = model.vectorize(normalized)
    result = {
        "texts": len(normalized),
        "max_feature_difference": float(abs(x_pipeline - x_plain).max()) if normalized else 0.0,
    }
    plain = model.probabilities(x_plain)
    for risk, classifier in classifiers.items():
        diff = np.abs(classifier.predict_proba(x_pipeline)[:, 1] - plain[risk])
        result[f"max_{risk}_difference"] = float(diff.max()) if normalized else 0.0
    if stage_model is not None:
        diff = np.abs(stage_model.predict_proba(x_pipeline) - model.stage_probabilities(x_plain))
        result["max_stage_difference"] = float(diff.max()) if normalized else 0.0
    if kind_model is not None:
        predicted = kind_model.predict(x_pipeline)
        result["kind_disagreements"] = int(
            sum(model.scam_kind(x_plain[i]) != predicted[i] for i in range(len(normalized)))
        )
    return result


# Leave-one-source-out: each real source, and the risk it speaks to.
LOSO_SOURCES = {
    "vi-sms": ("scam", ("vi-sms",)),
    "pj": ("grooming", ("pj-offender", "pj-decoy")),
    "pages": ("scam", ("pages:",)),
    "phishing-pages": ("scam", ("phishing-pages:",)),
    "sms-mendeley": ("scam", ("sms-mendeley",)),
    "nazario": ("scam", ("nazario",)),
}


def leave_one_source_out(
    model: RiskModel,
    x: dict,
    parts: dict[str, list[Example]],
    weights: np.ndarray,
    progress: Progress,
) -> dict:
    """For each real source: the risk's classifier refitted without that source's training and validation
    examples, then measured on the source's held-out split at the shipped thresholds (the other risk as
    shipped). How the model does on text it has not seen the like of. The vocabulary is the shipped one."""
    table = {}
    train_set, val_set, test_set = parts["train"], parts["validation"], parts["test"]
    for name, (risk, prefixes) in LOSO_SOURCES.items():
        keep_train = np.array([not ex.source.startswith(prefixes) and teaches(ex, risk) for ex in train_set])
        keep_val = np.array([not ex.source.startswith(prefixes) and teaches(ex, risk) for ex in val_set])
        rows = [i for i, ex in enumerate(test_set) if ex.source.startswith(prefixes)]
        if not rows or keep_train.all():
            continue
        progress(f"leave-one-source-out: {risk} without {name}")
        y = np.array([ex.label == risk for ex in train_set])[keep_train]
        y_val = np.array([ex.label == risk for ex in val_set])[keep_val]
        classifier = _calibrated_logistic(
            x["train"][keep_train], y, weights[keep_train], x["validation"][keep_val], y_val
        )
        x_test = x["test"][rows]
        p_risk = classifier.predict_proba(x_test)[:, 1]
        shipped = model.probabilities(model.vectorize(_normalized([test_set[i] for i in rows])))
        other = "grooming" if risk == "scam" else "scam"
        alerts = []
        for j in range(len(rows)):
            ratio_risk = p_risk[j] / model.thresholds[risk].alert
            ratio_other = shipped[other][j] / model.thresholds[other].alert
            best = max((ratio_risk, risk), (ratio_other, other))
            alerts.append(best[1] if best[0] >= 1.0 else None)
        examples = [test_set[i] for i in rows]
        table[name] = report([ex.label for ex in examples], alerts, {risk: p_risk, other: shipped[other]})
    return table


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


def _fit_kind_model(x_train, train_set: list[Example]) -> LogisticRegression | None:
    """Which kind of scam (free currency, phishing, job/crypto, sextortion, online kidnapping, other),
    learned from the scam examples whose source or corpus scenario names it."""
    rows = [i for i, ex in enumerate(train_set) if ex.label == "scam" and ex.scam_kind]
    kinds = [train_set[i].scam_kind for i in rows]
    if len(set(kinds)) < 2:
        return None
    model = LogisticRegression(C=4.0, max_iter=500, random_state=SEED, class_weight="balanced")
    return model.fit(x_train[rows], kinds)


def kind_report(model: RiskModel, examples: list[Example]) -> dict:
    """Per scam kind: how many held-out scams of that kind got it (accuracy of ``Score.scam_kind``)."""
    labelled = [ex for ex in examples if ex.label == "scam" and ex.scam_kind]
    if not labelled:
        return {}
    scores = model.score_messages([ex.text for ex in labelled], kind="page")
    out: dict[str, dict] = {}
    for ex, score in zip(labelled, scores, strict=True):
        row = out.setdefault(ex.scam_kind, {"n": 0, "right": 0})
        row["n"] += 1
        row["right"] += score.scam_kind == ex.scam_kind
    for row in out.values():
        row["accuracy"] = round(row["right"] / row["n"], 4)
    return dict(sorted(out.items()))


def calibration_table(model: RiskModel, examples: list[Example], bins: int = 10) -> dict:
    """Reliability per risk on the held-out split: in each probability bin, how many items and how many of
    them truly were that risk."""
    scores = model.score_messages([ex.text for ex in examples], kind="page")
    table = {}
    for risk in ("scam", "grooming"):
        p = np.array([getattr(s, risk) for s in scores])
        y = np.array([ex.label == risk for ex in examples])
        rows = []
        for b in range(bins):
            lo, hi = b / bins, (b + 1) / bins
            inside = (p >= lo) & ((p < hi) if b < bins - 1 else (p <= hi))
            if inside.any():
                rows.append(
                    {
                        "bin": f"{lo:.1f}-{hi:.1f}",
                        "n": int(inside.sum()),
                        "mean_predicted": round(float(p[inside].mean()), 4),
                        "observed": round(float(y[inside].mean()), 4),
                    }
                )
        table[risk] = rows
    return table


MAX_REPLAY_TURNS = 400
# A detector often sees a piece of a chat rather than all of it (it joins late; a chat log is cut by time):
# pieces of this many messages, both sides alternating (their order between sides is lost) and nobody
# marked as the child, are scored as conversations on their own.
PIECE_MESSAGES = 20


def both_sides(offender: list[str], decoy: list[str]) -> list[ChatMessage]:
    """A Perverted-Justice chat's two sides as one conversation, their turns alternating (the order between
    sides is lost) and nobody marked as the child, as a log scored without knowing who the child is."""
    return [
        ChatMessage(sender, turns[i])
        for i in range(max(len(offender), len(decoy)))
        for sender, turns in (("offender", offender), ("decoy", decoy))
        if i < len(turns)
    ]


def real_conversation_replay(
    model: RiskModel, shared: Path, chitchat_conversations: int | None, max_chats: int | None = None
) -> dict:
    """Held-out real conversations replayed turn by turn through ``score_conversation``.

    Offenders (Perverted-Justice, test split by chat): share alerted, and how many turns after the risk
    starts (``datasets.risk_start``) the first alert came; pieces of :data:`PIECE_MESSAGES` messages of
    the whole chats: share alerted as grooming. Decoy sides (what a child's side looks like) and ordinary
    chitchat conversations (test split): share that ever alerted. Counts and rates only.
    """
    from classifier.datasets import iter_pj_chats, load_chitchat_conversations, risk_start

    delays: list[int] = []
    missed = offenders = 0
    decoys = decoys_alerted = 0
    sides: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for row in iter_pj_chats(shared):
        if split_of(f"pj:{row['chat']}") != "test":
            continue
        turns = [m for m in row["messages"] if isinstance(m, str) and m.strip()][:MAX_REPLAY_TURNS]
        sides[row["chat"]][row["role"]] = turns
        if row["role"] == "predator":
            if max_chats is not None and offenders >= max_chats:
                continue
            start = risk_start(turns)
            if start is None:
                continue
            offenders += 1
            first = model.first_alert_turn([ChatMessage("them", t) for t in turns])
            if first is None:
                missed += 1
            else:
                delays.append(first - start)
        else:
            if max_chats is not None and decoys >= max_chats:
                continue
            decoys += 1
            decoys_alerted += model.first_alert_turn([ChatMessage("them", t) for t in turns]) is not None
    chats = [
        turns
        for key, turns in load_chitchat_conversations(chitchat_conversations)
        if split_of(f"chitchat:{key}") == "test"
    ][: max_chats or None]
    chit_alerted = sum(
        model.first_alert_turn([ChatMessage(f"p{i % 2}", t, i % 2 == 0) for i, t in enumerate(turns)])
        is not None
        for turns in chats
    )
    pieces = pieces_alerted = 0
    for chat in list(sides)[: max_chats or None]:
        offender, decoy = sides[chat].get("predator", []), sides[chat].get("decoy", [])
        both = both_sides(offender, decoy)
        for start in range(0, len(both), PIECE_MESSAGES):
            pieces += 1
            piece = model.score_conversation(both[start : start + PIECE_MESSAGES])
            pieces_alerted += piece.alert == "grooming"
    detected = len(delays)
    return {
        "piece_messages": PIECE_MESSAGES,
        "pieces": pieces,
        "pieces_alerted": round(pieces_alerted / max(1, pieces), 4),
        "offender_chats": offenders,
        "offender_recall": round(detected / max(1, offenders), 4),
        "median_turns_after_risk_start": float(np.median(delays)) if delays else None,
        "alerted_at_or_before_risk_start": round(sum(d <= 0 for d in delays) / max(1, detected), 4),
        "decoy_sides": decoys,
        "decoy_sides_alerted": round(decoys_alerted / max(1, decoys), 4),
        "chitchat_conversations": len(chats),
        "chitchat_alerted": round(chit_alerted / max(1, len(chats)), 4),
    }


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


def held_out_examples(
    shared: Path = DEFAULT_SHARED_DATA,
    corpus_paths: list[Path] | None = None,
    chitchat_conversations: int | None = 3000,
    limit_per_source: int | None = None,
) -> list[Example]:
    """The held-out (test) split of every source, exactly as training splits it (given the same slice
    options): what the model card measures."""
    examples = all_examples(shared, corpus_paths, chitchat_conversations, limit_per_source)
    return [ex for ex in examples if split_of(ex.group) == "test"]


def all_examples(
    shared: Path,
    corpus_paths: list[Path] | None,
    chitchat_conversations: int | None,
    limit_per_source: int | None,
) -> list[Example]:
    """Every example of the given slice, as training loads them (one place, so that the held-out split
    :func:`held_out_examples` measures is the one training left out)."""
    return load_all(
        shared,
        corpus_paths,
        chitchat_conversations=chitchat_conversations,
        limit_per_source=limit_per_source,
        seed=SEED,
    )


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
        first_alert = model.first_alert_turn(messages)
        if item.label == "grooming":
            first_stage = next(i for i, m in enumerate(item.messages) if m.get("stage"))
            if first_alert is None:
                missed += 1
            else:
                delays.append(first_alert - first_stage)
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


def _threshold_policy() -> str:
    hard = ", ".join(f"{rate:.0%} for {risk}" for risk, rate in MAX_HARD_NEGATIVE_ALERT_RATE.items())
    return (
        f"alert: best validation F1 with benign false alerts <= {MAX_BENIGN_FALSE_ALERT_RATE:.0%}, "
        f"hard-negative false alerts <= {hard} and, for scams, each real SMS source's ordinary messages "
        f"({', '.join(CAPPED_SOURCES)}) alerted <= {MAX_SOURCE_FALSE_ALERT_RATE:.0%}; "
        "medium and high: the lowest probabilities from which "
        f"validation alerts were right {HYPERPARAMETERS['severity_medium_precision']:.0%} and "
        f"{HYPERPARAMETERS['severity_high_precision']:.0%} of the time"
    )


SNAPSHOT_SOURCES = (*FETCHED_PAGE_SOURCES, *FETCHED_CHAT_SOURCES)


def _snapshots() -> list[dict]:
    """The public repositories whose pages (classifier.fetched_pages) and children's chat lines
    (classifier.fetched_chat) this training read, at their commits."""
    found = []
    for source in SNAPSHOT_SOURCES:
        commit = snapshot_commit(source.repository)
        if commit:
            found.append(
                {
                    "source": source.example_source,
                    "repository": source.repository,
                    "paths": source.path_pattern,
                    "commit": commit,
                }
            )
    return found


def _chitchat_sha() -> str:
    try:
        import chitchat_dataset
    except ImportError:
        return "not installed"
    return sha256_file(Path(chitchat_dataset.__file__).parent / "dataset.json")
