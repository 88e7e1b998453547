"""The trained risk model: load it safely, score messages, pages and conversations, explain the scores."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from classifier.datasets import WINDOW_TURNS, blocklist_key, sha256_file
from classifier.decision import MIN_THRESHOLD, Policy, Thresholds, decide
from classifier.extract import extract_visible_text
from classifier.features import FastTfidf
from classifier.normalize import detect_lang, evidence_pattern, fold_keep_length, normalize
from classifier.records import ChatMessage, PageText, RiskEvidence, Score

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
ARTIFACT_NAME = "notalone-model.joblib"
CARD_NAME = "model-card.json"
# Pages are scored on their title and the start of their visible text: scam pages say what they want early,
# and the cap keeps a 100 KB page within a few milliseconds (bench/classifier_bench.py).
MAX_PAGE_CHARS = 2500
MAX_MESSAGE_CHARS = 4000
SNIPPET_CHARS = 500
MAX_EVIDENCE = 5
# Words that carry weight only inside a phrase: never shown to a parent as evidence on their own.
EVIDENCE_STOPWORDS = frozenset(
    "a an the and or to of in on at for is are am be was you your yours i me my it its this that with do "
    "not we they he she so just now get go if but can will have has from by as up out all no yes ok oh lol "
    "va la cua cho de thi ma co khong ban minh em anh nay do roi nhe ne di oi voi o cai nhung mot cac "
    "duoc se da dang vay gi ai".split()
)


class ModelLoadError(RuntimeError):
    """The model artifact is missing, unreadable, or does not match its model card."""


class ModelIntegrityError(ModelLoadError):
    """The artifact's sha256 differs from the one recorded in the model card: refuse to unpickle it."""


def host_digest(host: str) -> str:
    """How blocklisted hosts are kept in the artifact: a short hash, not the list itself."""
    return hashlib.sha256(host.encode()).hexdigest()[:16]


def _page_prefixes(host: str, path: str) -> list[str]:
    """``host/a``, ``host/a/b``, ... up to the whole path (query included): every listed page a URL may
    be at or below."""
    path = path.lstrip("/")
    base, _, query = path.partition("?")
    segments = [s for s in base.split("/") if s]
    prefixes = [f"{host}/{'/'.join(segments[: i + 1])}" for i in range(len(segments))]
    if query:
        prefixes.append(f"{host}/{base}?{query}")
    return prefixes


def _hosts_with_parents(host: str) -> list[str]:
    parts = host.lower().strip(".").split(".")
    return [".".join(parts[i:]) for i in range(len(parts) - 1)]


class RiskModel:
    """Scam and grooming risk from text. Thread-safe: scoring never mutates the model."""

    def __init__(self, artifact: dict[str, Any]) -> None:
        self.version: str = artifact["version"]
        self.features = artifact["features"]
        self.classifiers = {"scam": artifact["scam"], "grooming": artifact["grooming"]}
        self.stage_model = artifact.get("stage")
        self.stage_threshold: float = artifact.get("stage_threshold", 0.5)
        self.thresholds = {k: Thresholds(**v) for k, v in artifact["thresholds"].items()}
        self.policy = Policy(self.thresholds)
        self.blocked_hosts: frozenset[str] = frozenset(artifact.get("blocked_hosts", ()))
        self.blocked_pages: frozenset[str] = frozenset(artifact.get("blocked_pages", ()))
        names = self.features.get_feature_names_out()
        self._word_feature = np.array([n.startswith("word__") for n in names])
        self._phrases = np.array([n.split("__", 1)[1] for n in names], dtype=object)
        self._vectorizers = [v for _, v in self.features.transformer_list]
        self._fast_vectorizers = [FastTfidf(v) for v in self._vectorizers]
        # Both risks in one sparse product: weights (features x risks), intercepts, and each risk's
        # sigmoid calibration, read out of the fitted classifiers.
        self._risks = tuple(self.classifiers)
        linear = [_calibrated_linear(self.classifiers[k]) for k in self._risks]
        self._coef = {k: linear[i][0] for i, k in enumerate(self._risks)}
        self._weights = np.column_stack([w for w, _, _ in linear]).astype(np.float32)
        self._intercepts = np.array([b for _, b, _ in linear])
        self._calibration = np.array([ab for _, _, ab in linear])

    # -- loading ---------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path | None = None) -> RiskModel:
        """Load an artifact after checking its sha256 against the model card beside it."""
        path = Path(path) if path else MODELS_DIR / ARTIFACT_NAME
        card_path = path.with_name(CARD_NAME)
        if not path.is_file():
            raise ModelLoadError(f"model artifact not found: {path} (run `make model` to train one)")
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
            expected = card["artifact"]["sha256"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelLoadError(f"model card {card_path} is missing or unreadable: {exc}") from exc
        actual = sha256_file(path)
        if actual != expected:
            raise ModelIntegrityError(
                f"model artifact {path} has sha256 {actual}, but the model card says {expected}; "
                "refusing to load a file that may have been tampered with"
            )
        try:
            artifact = joblib.load(path)
            return cls(artifact)
        except Exception as exc:  # a corrupt pickle can raise almost anything
            raise ModelLoadError(f"model artifact {path} could not be loaded: {exc!r}") from exc

    # -- scoring ---------------------------------------------------------------------------------------
    def vectorize(self, normalized: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF features of already-normalised texts (the vectorizers called directly: no joblib)."""
        if len(normalized) != 1:  # a batch: scikit-learn's own transform is the faster one
            return sp.hstack([v.transform(normalized) for v in self._vectorizers], format="csr")
        # One row (a page, a message): the fast vectorizers, and the blocks joined directly, since
        # sp.hstack's general path costs more than the whole linear model.
        blocks = [v.transform(normalized) for v in self._fast_vectorizers]
        offsets = np.cumsum([0] + [b.shape[1] for b in blocks[:-1]])
        indices = np.concatenate([b.indices + off for b, off in zip(blocks, offsets, strict=True)])
        data = np.concatenate([b.data for b in blocks])
        width = sum(b.shape[1] for b in blocks)
        return sp.csr_matrix((data, indices, np.array([0, len(data)])), shape=(1, width))

    def probabilities(self, x: sp.csr_matrix) -> dict[str, np.ndarray]:
        """Calibrated probabilities of each risk for feature rows: the same as each classifier's
        ``predict_proba``, computed as one sparse product."""
        decision = np.asarray(x @ self._weights) + self._intercepts
        proba = expit(-(self._calibration[:, 0] * decision + self._calibration[:, 1]))
        return {k: proba[:, i] for i, k in enumerate(self._risks)}

    def score_messages(self, texts: Sequence[str], kind: str = "message") -> list[Score]:
        """Score a batch of messages (or page texts) at once: the fast path."""
        clipped = [t[: MAX_PAGE_CHARS if kind == "page" else MAX_MESSAGE_CHARS] for t in texts]
        langs = [detect_lang(t) for t in clipped]
        if not texts:
            return []
        x = self.vectorize([normalize(t, lang) for t, lang in zip(clipped, langs, strict=True)])
        probs = self.probabilities(x)
        return [
            self._decide(text, x[i], lang, float(probs["scam"][i]), float(probs["grooming"][i]))
            for i, (text, lang) in enumerate(zip(clipped, langs, strict=True))
        ]

    def score_message(self, text: str) -> Score:
        return self.score_messages([text])[0]

    def score_page(self, html: str, url: str = "") -> Score:
        """Extract the visible text of an HTML page and score it."""
        return self.score_page_text(extract_visible_text(html), url=url)

    def score_page_text(self, page: PageText, url: str = "") -> Score:
        text = page.combined()
        score = self.score_messages([text], kind="page")[0]
        # Only the page's own address counts: a link inside a page (to Facebook, say) says nothing of it.
        return self.with_url_reputation(replace(score, title=page.title), url)

    def with_url_reputation(self, score: Score, url: str) -> Score:
        """``score`` raised to a high scam alert when ``url``'s host is on the phishing blocklist.

        The only part of a page's score that depends on its address rather than its content, so that
        callers can cache scores by content and apply this per visit.
        """
        blocked = self.blocked_host(url)
        return self._known_phishing(score, blocked, score.snippet) if blocked else score

    def score_conversation(self, messages: Sequence[ChatMessage]) -> Score:
        """Score a conversation over a sliding window of each counterpart's recent turns.

        The conversation's risk is that of its riskiest window, so risk that builds up across turns
        is caught as soon as one window holds enough of it; ``stages`` lists the grooming stages seen.
        """
        windows: list[str] = []
        by_sender: dict[str, list[str]] = {}
        for message in messages:
            if message.from_child or not message.text.strip():
                continue
            turns = by_sender.setdefault(message.sender, [])
            turns.append(message.text[:MAX_MESSAGE_CHARS])
            windows.append("\n".join(turns[-WINDOW_TURNS:]))
        if not windows:
            return Score(scam=0.0, grooming=0.0)
        langs = [detect_lang(w) for w in windows]
        x = self.vectorize([normalize(w, lang) for w, lang in zip(windows, langs, strict=True)])
        probs = self.probabilities(x)
        ratios = np.maximum(
            probs["scam"] / self.thresholds["scam"].alert,
            probs["grooming"] / self.thresholds["grooming"].alert,
        )
        # Evidence and snippet come from the newest window when it is risky (it holds the latest turns, which
        # a parent needs to see), else from the riskiest one.
        best = len(windows) - 1 if ratios[-1] >= 1.0 else int(np.argmax(ratios))
        score = self._decide(
            windows[best], x[best], langs[best], float(probs["scam"].max()), float(probs["grooming"].max())
        )
        stages = self.stages_seen([m.text for m in messages if not m.from_child])
        if score.alert != "grooming":
            return Score(
                **{
                    **score.__dict__,
                    "stages": stages if score.grooming >= 0.5 * self.thresholds["grooming"].alert else (),
                }
            )
        return Score(**{**score.__dict__, "stages": stages})

    def stages_seen(self, texts: Sequence[str]) -> tuple[str, ...]:
        """Grooming stages shown by any of the texts, in the order first seen."""
        if self.stage_model is None or not texts:
            return ()
        x = self.vectorize([normalize(t[:MAX_MESSAGE_CHARS]) for t in texts])
        proba = self.stage_model.predict_proba(x)
        classes = list(self.stage_model.classes_)
        seen: list[str] = []
        for row in proba:
            best = int(np.argmax(row))
            stage = classes[best]
            if stage != "none" and row[best] >= self.stage_threshold and stage not in seen:
                seen.append(stage)
        return tuple(seen)

    def blocked_host(self, *urls: str) -> str | None:
        """The blocklist entry that the first listed one of ``urls`` is under, if any: a listed host (or
        a parent domain of it), or a listed page (``host/path``) that the URL is at or below.

        A page listed on a big platform (``facebook.com/<a scam page>``) lists that page only: the
        platform's other pages are not on the list.
        """
        if not self.blocked_hosts and not self.blocked_pages:
            return None
        for url in urls:
            if not url:
                continue
            host, path = blocklist_key(url)
            for candidate in _hosts_with_parents(host):
                if host_digest(candidate) in self.blocked_hosts:
                    return candidate
            if path and self.blocked_pages:
                for prefix in _page_prefixes(host, path):
                    if host_digest(prefix) in self.blocked_pages:
                        return prefix
        return None

    # -- decisions and explanations -------------------------------------------------------------------
    def _decide(self, text: str, row: sp.csr_matrix, lang: str, scam: float, grooming: float) -> Score:
        """A score with each risk's own evidence where that risk could matter, decided at the model's own
        thresholds by :func:`classifier.decision.decide` (the one place that thresholds)."""
        by_risk = []
        for risk, p in (("scam", scam), ("grooming", grooming)):
            # Explaining costs a little: only for a risk a parent's override or sensitivity could alert on.
            if p >= MIN_THRESHOLD:
                evidence, spans = self.explain(text, row, lang, risk)
                own = RiskEvidence(evidence, snippet_around(text, spans[0] if spans else None))
                by_risk.append((risk, own))
        score = Score(scam=scam, grooming=grooming, lang=lang, by_risk=tuple(by_risk))
        return self.apply_own_decision(score)

    def apply_own_decision(self, score: Score) -> Score:
        """``score`` with its alert, severity, evidence and snippet as the model's own policy decides."""
        decision = decide(score, self.policy)
        if decision is None:
            return replace(score, alert=None, severity=None, evidence=(), snippet="")
        return replace(
            score,
            alert=decision.category,
            severity=decision.severity,
            evidence=decision.evidence,
            snippet=decision.snippet,
        )

    def explain(
        self, text: str, row: sp.csr_matrix, lang: str, label: str
    ) -> tuple[tuple[str, ...], list[tuple[int, int]]]:
        """The phrases that pushed ``label``'s score up most, as they appear in ``text``, with their spans.

        ``row`` is the text's feature row. A linear model's contribution of a phrase is its weight times
        its feature value: cheap and honest.
        """
        idx = row.indices
        contributions = row.data * self._coef[label][idx]
        order = np.argsort(-contributions)
        folded = fold_keep_length(text)
        evidence: list[str] = []
        spans: list[tuple[int, int]] = []
        for j in order:
            if contributions[j] <= 0 or len(evidence) >= MAX_EVIDENCE:
                break
            feature = idx[j]
            phrase = self._phrases[feature]
            if not self._word_feature[feature] or EVIDENCE_STOPWORDS.issuperset(phrase.split()):
                continue
            match = evidence_pattern(phrase, lang).search(folded)
            if match is None:
                continue
            found = text[match.start() : match.end()].strip()
            if found and not any(found.lower() in e.lower() for e in evidence):
                evidence = [e for e in evidence if e.lower() not in found.lower()]
                evidence.append(found)
                spans.append((match.start(), match.end()))
        return tuple(evidence), spans

    def _known_phishing(self, score: Score, host: str, text: str) -> Score:
        own = score.evidence_for("scam")
        if own.evidence and own.evidence[0] == f"known phishing site: {host}":
            return score
        scam = RiskEvidence(
            (f"known phishing site: {host}", *own.evidence)[:MAX_EVIDENCE],
            own.snippet or snippet_around(text, None),
        )
        by_risk = (*((r, e) for r, e in score.by_risk if r != "scam"), ("scam", scam))
        return self.apply_own_decision(
            replace(score, scam=max(score.scam, 0.99), by_risk=by_risk, scam_kind="phishing")
        )


def snippet_around(text: str, span: tuple[int, int] | None, width: int = SNIPPET_CHARS) -> str:
    """At most ``width`` characters of ``text`` centred on ``span`` (the start of the text without one)."""
    if len(text) <= width:
        return re.sub(r"\s+", " ", text).strip()
    if span is None:
        return text[: width - 1].rstrip() + "…"
    start, end = span
    centre = (start + end) // 2
    lo = max(0, min(centre - width // 2, len(text) - width))
    piece = text[lo : lo + width]
    if lo > 0:
        piece = "…" + piece[1:]
    if lo + width < len(text):
        piece = piece[:-1] + "…"
    return re.sub(r"\s+", " ", piece).strip()


def _calibrated_linear(classifier: Any) -> tuple[np.ndarray, float, tuple[float, float]]:
    """Weights, intercept and sigmoid calibration ``(a, b)`` of a ``CalibratedClassifierCV`` fitted with
    ``ensemble=False`` over a linear model: ``p = expit(-(a * (x @ w + intercept) + b))``."""
    (calibrated,) = classifier.calibrated_classifiers_
    (calibrator,) = calibrated.calibrators
    estimator = calibrated.estimator
    return (
        np.asarray(estimator.coef_).ravel(),
        float(np.ravel(estimator.intercept_)[0]),
        (float(calibrator.a_), float(calibrator.b_)),
    )
