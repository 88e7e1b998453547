"""The trained risk model: load it safely, score messages, pages and conversations, explain the scores."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from classifier.brands import impersonates, served_by_brand, sign_in_brand
from classifier.datasets import WINDOW_TURNS, blocklist_key, sha256_file
from classifier.decision import EXPLICIT_STAGES, MIN_THRESHOLD, Policy, Thresholds, decide
from classifier.evidence import evidence_span
from classifier.extract import extract_visible_text
from classifier.features import FastTfidf, VectorizerSpec
from classifier.normalize import detect_lang, fold_keep_length, normalize
from classifier.records import ChatMessage, PageText, RiskEvidence, Score

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
# A plain artifact: numpy arrays and JSON in one .npz, read with allow_pickle=False, so loading it can run
# no code; the scorer needs numpy and scipy only (scikit-learn is for training).
ARTIFACT_NAME = "notalone-model.npz"
CARD_NAME = "model-card.json"
# Pages are scored on their title and the start of their visible text: scam pages say what they want early,
# and the cap keeps a 100 KB page within a few milliseconds (bench/classifier_bench.py).
MAX_PAGE_CHARS = 2500
MAX_MESSAGE_CHARS = 4000
# A message of one word (once normalised: a link or "stk" is several) is no evidence either way, and the
# model reads some such words as risky: "you", "yes", "damn" were 19 of the 24 one- and two-word lines of
# real teens' chat (NPS) that alerted. Its probabilities are held below any threshold a parent can set.
MIN_MESSAGE_WORDS = 2
SHORT_CAP = 0.8 * MIN_THRESHOLD
SNIPPET_CHARS = 500
MAX_EVIDENCE = 5
# Words that carry weight only inside a phrase: never shown to a parent as evidence on their own.
EVIDENCE_STOPWORDS = frozenset(
    "a an the and or to of in on at for is are am be was you your yours i me my it its this that with do "
    "not we they he she so just now get go if but can will have has from by as up out all no yes ok oh lol "
    "va la cua cho de thi ma co khong ban minh em anh nay do roi nhe ne di oi voi o cai nhung mot cac "
    "duoc se da dang vay gi ai".split()
)


# Grooming in a conversation: how many distinct stages one counterpart must show before a window counts in
# full, and where a window of a counterpart short of that is held (a fraction of the alert threshold).
# Trust building and flattery are listed but do not count towards that: every friendly chat has them.
MIN_DISTINCT_STAGES = 2
# A counterpart with this many turns that read clearly risky on their own (each at the grooming threshold's
# medium severity, of a few words, and not as trust building or flattery) is not one beat either, whatever
# stage the turns read as: real offenders repeat sexual talk that the stage model reads as no stage or one.
# On held-out Perverted-Justice chats cut into 20-message pieces (both sides, nobody marked as the child;
# the model card's figure) this alerts on 38 % rather than 31 % of the pieces, with the same written benign
# chats, everyday chats and Roblox hangout players alerted.
REPEATED_RISKY_TURNS = 2
# Shorter turns ("you", "ok u") say too little to count: the model reads some of them as risky.
REPEATED_TURN_MIN_WORDS = 3
# Nor is a counterpart whose talk keeps reading as grooming: its window (its last few turns together) at the
# alert threshold on SUSTAINED_WINDOWS of its turns, this one among them, with at least SUSTAINED_TURNS of
# its turns of a few words reading risky on their own (SUSTAINED_TURN_FLOOR of the alert threshold). Real
# offenders' talk is risky turn after turn without any one turn being clear on its own; one risky beat keeps
# its window high for a few turns, but brings no second risky turn. On held-out Perverted-Justice chats cut
# into 20-message pieces this alerts on 64 % rather than 38 % of the pieces, with the same written benign
# chats and everyday chats alerted. On 310 conversations written by other hands for evaluation only (220
# benign, most with a risky-looking beat; 90 grooming; model 2257), it finds 6 more grooming chats and
# alerts on 2 more benign ones (a floor of 0.5: 68 % of the pieces, 4 more benign chats).
SUSTAINED_WINDOWS = 3
SUSTAINED_TURNS = 2
SUSTAINED_TURN_FLOOR = 0.7
SOFT_STAGES = frozenset({"trust_building", "flattery"})
SINGLE_BEAT_CAP = 0.6
# A counterpart's turn shows the stage it reads most like (never "none"). The stage counts when the turn also
# reads risky on its own: at STAGE_TURN_FLOOR of the alert threshold for a stage read with the stage model's
# own confidence (``stage_threshold``), at LOOSE_STAGE_TURN_FLOOR for a stage read only LOOSE_STAGE_MIN
# likely. Written grooming chats use looser words than the stage examples: on validation the loose reading
# finds 51 of 62 of them rather than 46, with the same benign chats alerted and 2 rather than 1 of 915
# everyday chats.
STAGE_TURN_FLOOR = 0.5
LOOSE_STAGE_MIN = 0.25
LOOSE_STAGE_TURN_FLOOR = 0.8


@dataclass(frozen=True)
class _Row:
    """One row of a CSR feature matrix as its column indices and values (cheaper than slicing a matrix)."""

    indices: np.ndarray
    data: np.ndarray

    @classmethod
    def of(cls, x: sp.csr_matrix, i: int) -> _Row:
        start, end = x.indptr[i], x.indptr[i + 1]
        return cls(x.indices[start:end], x.data[start:end])


def _rows(x: sp.csr_matrix, indices: list[int]) -> sp.csr_matrix:
    """The rows of ``x`` at ``indices`` (ascending): ``x`` itself when they are all of its rows (selecting
    rows copies the matrix, which for one message cost more than its stage model)."""
    return x if len(indices) == x.shape[0] else x[indices]


@dataclass(frozen=True)
class ConversationTrace:
    """A conversation replayed turn by turn: per counterpart turn, its window and risks."""

    windows: tuple[str, ...]
    langs: tuple[str, ...]
    turn_index: tuple[int, ...]
    scam: np.ndarray
    grooming: np.ndarray
    stages: tuple[tuple[str, ...], ...]
    senders: tuple[str, ...]
    x: Any


class ModelLoadError(RuntimeError):
    """The model artifact is missing, unreadable, or does not match its model card."""


class ModelIntegrityError(ModelLoadError):
    """The artifact's sha256 differs from the one recorded in the model card: refuse to read it."""


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

    def __init__(self, artifact: Mapping[str, np.ndarray]) -> None:
        """``artifact``: the arrays of a plain artifact (see :func:`read_artifact`; training builds them)."""
        meta = json.loads(text_of(artifact["meta"]))
        self.version: str = meta["version"]
        self.thresholds = {k: Thresholds(**v) for k, v in meta["thresholds"].items()}
        self.policy = Policy(self.thresholds)
        self.stage_threshold: float = meta.get("stage_threshold", 0.5)
        self.blocked_hosts: frozenset[str] = frozenset(json.loads(text_of(artifact["blocked_hosts"])))
        self.blocked_pages: frozenset[str] = frozenset(json.loads(text_of(artifact["blocked_pages"])))
        self._fast_vectorizers: list[FastTfidf] = []
        phrases: list[str] = []
        word_feature: list[np.ndarray] = []
        for spec in meta["vectorizers"]:
            spec = VectorizerSpec(**{**spec, "ngram_range": tuple(spec["ngram_range"])})
            terms = json.loads(text_of(artifact[f"vocab_{spec.name}"]))
            vocabulary = {term: i for i, term in enumerate(terms)}
            self._fast_vectorizers.append(FastTfidf(spec, vocabulary, artifact[f"idf_{spec.name}"]))
            phrases += terms
            word_feature.append(np.full(len(terms), spec.analyzer == "word"))
        self._word_feature = np.concatenate(word_feature)
        self._width = sum(v.width for v in self._fast_vectorizers)
        self._phrases = np.array(phrases, dtype=object)
        # Both risks in one sparse product: weights (features x risks), intercepts, and each risk's
        # sigmoid calibration.
        self._risks: tuple[str, ...] = tuple(meta["risks"])
        self._weights = np.asarray(artifact["weights"], dtype=np.float32)
        self._intercepts = np.asarray(artifact["intercepts"], dtype=np.float64)
        self._calibration = np.asarray(artifact["calibration"], dtype=np.float64)
        self._coef = {k: self._weights[:, i] for i, k in enumerate(self._risks)}
        self._kinds: tuple[str, ...] = tuple(meta.get("kinds", ()))
        self._kind_weights = artifact.get("kind_weights")
        self._kind_intercepts = artifact.get("kind_intercepts")
        self._stages: tuple[str, ...] = tuple(meta.get("stages", ()))
        self._stage_weights = artifact.get("stage_weights")
        self._stage_intercepts = artifact.get("stage_intercepts")

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
            return cls(read_artifact(path))
        except Exception as exc:  # a corrupt archive can raise almost anything
            raise ModelLoadError(f"model artifact {path} could not be loaded: {exc!r}") from exc

    # -- scoring ---------------------------------------------------------------------------------------
    def vectorize(self, normalized: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF features of already-normalised texts."""
        if len(normalized) != 1:
            return sp.hstack([v.transform(normalized) for v in self._fast_vectorizers], format="csr")
        # One row (a page, a message): each vectorizer's columns and values joined directly into one matrix,
        # since building a sparse matrix per block (or sp.hstack's general path) costs more than the model.
        rows = [v.row(normalized[0]) for v in self._fast_vectorizers]
        offsets = np.cumsum([0] + [v.width for v in self._fast_vectorizers[:-1]])
        indices = np.concatenate([columns + off for (columns, _), off in zip(rows, offsets, strict=True)])
        data = np.concatenate([values for _, values in rows])
        # int32 indices, as scipy would choose: given so, it has nothing to check or convert.
        indptr = np.array([0, len(data)], dtype=np.int32)
        return sp.csr_matrix((data, indices.astype(np.int32), indptr), shape=(1, self._width))

    def probabilities(self, x: sp.csr_matrix) -> dict[str, np.ndarray]:
        """Calibrated probabilities of each risk for feature rows: the same as the trained calibrated
        classifiers' ``predict_proba`` (checked by training), computed as one sparse product."""
        decision = np.asarray(x @ self._weights) + self._intercepts
        proba = 1.0 / (1.0 + np.exp(self._calibration[:, 0] * decision + self._calibration[:, 1]))
        return {k: proba[:, i] for i, k in enumerate(self._risks)}

    def score_messages(self, texts: Sequence[str], kind: str = "message") -> list[Score]:
        """Score a batch of messages (or page texts) at once: the fast path."""
        clipped = [t[: MAX_PAGE_CHARS if kind == "page" else MAX_MESSAGE_CHARS] for t in texts]
        langs = [detect_lang(t) for t in clipped]
        if not texts:
            return []
        normalized = [normalize(t, lang) for t, lang in zip(clipped, langs, strict=True)]
        x = self.vectorize(normalized)
        probs = self.probabilities(x)
        if kind != "page":
            _hold_short(normalized, probs)
        scams, groomings = probs["scam"].tolist(), probs["grooming"].tolist()
        # Most messages are far below every threshold: nothing to explain, no feature row needed.
        scores = [
            Score(scam=scam, grooming=grooming, lang=lang)
            for scam, grooming, lang in zip(scams, groomings, langs, strict=True)
        ]
        explained = [i for i, s in enumerate(scores) if max(s.scam, s.grooming) >= MIN_THRESHOLD]
        if explained:
            for i, candidates in zip(explained, self._candidates_of_rows(_rows(x, explained)), strict=True):
                row = _Row.of(x, i)
                scores[i] = self._decide(clipped[i], row, langs[i], scams[i], groomings[i], candidates)
        if kind == "page":
            return scores
        # A single message that shows an explicit stage (sexual talk, an image request) says so: the
        # decision makes such grooming high severity.
        risky = [i for i, s in enumerate(scores) if s.grooming >= MIN_THRESHOLD]
        if risky:
            for i, stage in zip(risky, self._stages_of_rows(_rows(x, risky)), strict=True):
                if stage in EXPLICIT_STAGES:
                    scores[i] = self.apply_own_decision(replace(scores[i], stages=(stage,)))
        return scores

    def scam_kind(self, row: sp.csr_matrix | _Row) -> str:
        """The scam kind (one of ``SCAM_KINDS``) a feature row reads most like; "" without a kind model."""
        if not self._kinds or self._kind_weights is None:
            return ""
        if isinstance(row, _Row):
            logits = row.data @ self._kind_weights[row.indices] + self._kind_intercepts
        else:
            logits = np.asarray(row @ self._kind_weights).ravel() + self._kind_intercepts
        return self._kinds[int(np.argmax(logits))]

    def score_message(self, text: str) -> Score:
        return self.score_messages([text])[0]

    def score_page(self, html: str, url: str = "") -> Score:
        """Extract the visible text of an HTML page and score it."""
        return self.score_page_text(extract_visible_text(html), url=url)

    def score_page_text(self, page: PageText, url: str = "") -> Score:
        text = page.combined()
        score = self.score_messages([text], kind="page")[0]
        # Only the page's own address counts: a link inside a page (to Facebook, say) says nothing of it.
        claimed = replace(score, title=page.title, claimed_brand=sign_in_brand(page))
        return self.with_url_reputation(claimed, url)

    def with_url_reputation(self, score: Score, url: str) -> Score:
        """``score`` raised to a high phishing alert when ``url``'s host is on the phishing blocklist, or
        when the page is a brand's sign-in page (``score.claimed_brand``) served from a host that is not
        the brand's (:mod:`classifier.brands`); a brand's sign-in page on the brand's own host is no scam.

        The only part of a page's score that depends on its address rather than its content, so that
        callers can cache scores by content and apply this per visit.
        """
        blocked = self.blocked_host(url)
        if blocked:
            return self._known_phishing(score, f"known phishing site: {blocked}", score.snippet)
        if not score.claimed_brand:  # most pages: no second parse of the address
            return score
        host = blocklist_key(url)[0] if url else ""
        if not host:
            return score
        if served_by_brand(score.claimed_brand, host):
            # The brand's real sign-in page: its text is what the clones copy, so it reads like them.
            kept = tuple((risk, own) for risk, own in score.by_risk if risk != "scam")
            return self.apply_own_decision(replace(score, scam=0.0, by_risk=kept, scam_kind=""))
        if impersonates(score.claimed_brand, score.title, host):
            reason = f"a {score.claimed_brand} sign-in page on {host}"
            return self._known_phishing(score, reason, score.snippet or score.title)
        return score

    def conversation_trace(self, messages: Sequence[ChatMessage]) -> ConversationTrace:
        """Each counterpart turn's window, its scam probability and its conversation-level grooming
        probability, oldest first (see :meth:`score_conversation`)."""
        windows: list[str] = []
        senders: list[str] = []
        newest: list[str] = []
        turn_index: list[int] = []
        by_sender: dict[str, list[str]] = {}
        for index, message in enumerate(messages):
            if message.from_child or not message.text.strip():
                continue
            turns = by_sender.setdefault(message.sender, [])
            turns.append(message.text[:MAX_MESSAGE_CHARS])
            windows.append("\n".join(turns[-WINDOW_TURNS:]))
            senders.append(message.sender)
            newest.append(turns[-1])
            turn_index.append(index)
        if not windows:
            return ConversationTrace((), (), (), np.zeros(0), np.zeros(0), (), (), None)
        langs = [detect_lang(w) for w in windows]
        normalized = [normalize(w, lang) for w, lang in zip(windows, langs, strict=True)]
        x = self.vectorize(normalized)
        probs = self.probabilities(x)
        # A counterpart whose only turn is one word ("ur") has said no more than a one-word message.
        _hold_short(normalized, probs)
        x_newest = self.vectorize([normalize(t) for t in newest])
        turn_stages = self._turn_stage_readings(x_newest)
        newest_grooming = self.probabilities(x_newest)["grooming"]
        certain = self.thresholds["grooming"].high
        alert = self.thresholds["grooming"].alert
        clearly = self.thresholds["grooming"].medium
        seen: dict[str, list[str]] = {}
        risky_turns: dict[str, int] = {}
        risky_windows: dict[str, int] = {}
        telling_turns: dict[str, int] = {}
        stages: list[tuple[str, ...]] = []
        grooming = np.empty(len(windows))
        for i, sender in enumerate(senders):
            own = seen.setdefault(sender, [])
            # A stage counts when its turn reads risky on its own too: "see you after school" between
            # classmates names a meeting without being one.
            stage, certainty = turn_stages[i]
            floor = STAGE_TURN_FLOOR if certainty >= self.stage_threshold else LOOSE_STAGE_TURN_FLOOR
            if stage and stage not in own and newest_grooming[i] >= floor * alert:
                own.append(stage)
            stages.append(tuple(own))
            says_enough = len(newest[i].split()) >= REPEATED_TURN_MIN_WORDS
            turn_risky = bool(newest_grooming[i] >= clearly) and stage not in SOFT_STAGES and says_enough
            risky_turns[sender] = risky_turns.get(sender, 0) + turn_risky
            g = float(probs["grooming"][i])
            window_risky = g >= alert
            risky_windows[sender] = risky_windows.get(sender, 0) + window_risky
            telling = bool(newest_grooming[i] >= SUSTAINED_TURN_FLOOR * alert) and says_enough
            telling_turns[sender] = telling_turns.get(sender, 0) + telling
            # One risky-looking beat is not grooming: the same counterpart has to show at least
            # MIN_DISTINCT_STAGES different stages, REPEATED_RISKY_TURNS clearly risky turns (this one among
            # them) or sustained risky talk, unless the window alone is beyond doubt.
            risky = sum(shown not in SOFT_STAGES for shown in own)
            repeated = turn_risky and risky_turns[sender] >= REPEATED_RISKY_TURNS
            sustained = (
                window_risky
                and risky_windows[sender] >= SUSTAINED_WINDOWS
                and telling_turns[sender] >= SUSTAINED_TURNS
            )
            # Beyond doubt: the window is, and so is the newest turn on its own, and that turn is not merely
            # one of the ordinary-looking stages (an age question, a gift): explicit talk is.
            ordinary_stage = stage is not None and stage not in EXPLICIT_STAGES
            beyond_doubt = g >= certain and newest_grooming[i] >= certain and not ordinary_stage
            escalated = risky >= MIN_DISTINCT_STAGES or repeated or sustained or beyond_doubt
            grooming[i] = g if escalated else min(g, SINGLE_BEAT_CAP * alert)
        return ConversationTrace(
            tuple(windows),
            tuple(langs),
            tuple(turn_index),
            probs["scam"],
            grooming,
            tuple(stages),
            tuple(senders),
            x,
        )

    def first_alert_turn(self, messages: Sequence[ChatMessage]) -> int | None:
        """The index in ``messages`` of the turn at which replaying the conversation first alerts (the
        model's own thresholds), or None: for measuring how early a conversation is caught."""
        trace = self.conversation_trace(messages)
        for i in range(len(trace.windows)):
            if (
                trace.scam[i] >= self.thresholds["scam"].alert
                or trace.grooming[i] >= self.thresholds["grooming"].alert
            ):
                return trace.turn_index[i]
        return None

    def score_conversation(self, messages: Sequence[ChatMessage]) -> Score:
        """Score a conversation per counterpart, over time.

        Each counterpart turn is scored with that counterpart's last few turns (a window). Grooming is
        decided per counterpart: a window counts in full only once that counterpart has shown at least
        two distinct grooming stages (age probe, secrecy, move to a private app, ...), two turns that
        read clearly risky on their own, or talk that keeps reading as grooming (see SUSTAINED_WINDOWS), or
        the window alone is beyond doubt (explicit talk aimed at the child);
        one risky-looking beat in an ordinary chat is held below the alert threshold. The child's own
        turns never count. ``stages`` lists the stages the alerting counterpart showed, in the order first
        seen.
        """
        trace = self.conversation_trace(messages)
        if not trace.windows:
            return Score(scam=0.0, grooming=0.0)
        ratios = np.maximum(
            trace.scam / self.thresholds["scam"].alert, trace.grooming / self.thresholds["grooming"].alert
        )
        # Evidence and snippet come from the newest window when it is risky (it holds the latest turns, which
        # a parent needs to see), else from the riskiest one.
        best = len(trace.windows) - 1 if ratios[-1] >= 1.0 else int(np.argmax(ratios))
        score = self._decide(
            trace.windows[best],
            _Row.of(trace.x, best),
            trace.langs[best],
            float(trace.scam.max()),
            float(trace.grooming.max()),
        )
        riskiest = int(np.argmax(trace.grooming))
        stages = trace.stages[riskiest]
        if score.alert != "grooming" and score.grooming < 0.5 * self.thresholds["grooming"].alert:
            stages = ()
        return replace(score, stages=stages)

    def stage_probabilities(self, x: sp.csr_matrix) -> np.ndarray:
        """Each row's probability of every stage class (``"none"`` included): a softmax over linear scores,
        as the trained multinomial logistic regression's ``predict_proba``."""
        logits = np.asarray(x @ self._stage_weights, dtype=np.float64) + self._stage_intercepts
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def stage_of(self, normalized: Sequence[str]) -> list[str | None]:
        """The grooming stage each (normalised) message shows, or None."""
        if self._stage_weights is None or not normalized:
            return [None] * len(normalized)
        return self._stages_of_rows(self.vectorize(list(normalized)))

    def _turn_stage_readings(self, x: sp.csr_matrix) -> list[tuple[str | None, float]]:
        """Per conversation turn: the stage it reads most like and how likely, or ``(None, 0.0)`` when no
        stage is at least ``LOOSE_STAGE_MIN`` likely."""
        if self._stage_weights is None:
            return [(None, 0.0)] * x.shape[0]
        probabilities = self.stage_probabilities(x)
        probabilities[:, self._stages.index("none")] = -1.0
        readings: list[tuple[str | None, float]] = []
        for row in probabilities:
            best = int(row.argmax())
            readings.append(
                (self._stages[best], float(row[best])) if row[best] >= LOOSE_STAGE_MIN else (None, 0.0)
            )
        return readings

    def _stages_of_rows(self, x: sp.csr_matrix) -> list[str | None]:
        if self._stage_weights is None:
            return [None] * x.shape[0]
        out: list[str | None] = []
        for row in self.stage_probabilities(x):
            best = int(np.argmax(row))
            stage = self._stages[best]
            out.append(stage if stage != "none" and row[best] >= self.stage_threshold else None)
        return out

    def stages_seen(self, texts: Sequence[str]) -> tuple[str, ...]:
        """Grooming stages shown by any of the texts, in the order first seen."""
        seen: list[str] = []
        for stage in self.stage_of([normalize(t[:MAX_MESSAGE_CHARS]) for t in texts]):
            if stage and stage not in seen:
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
    def _decide(
        self,
        text: str,
        row: _Row,
        lang: str,
        scam: float,
        grooming: float,
        candidates: Mapping[str, list[int]] | None = None,
    ) -> Score:
        """A score with each risk's own evidence where that risk could matter, decided at the model's own
        thresholds by :func:`classifier.decision.decide` (the one place that thresholds). ``candidates``:
        the row's :meth:`_candidates_of_rows`, if already found."""
        by_risk = []
        folded = None
        for risk, p in (("scam", scam), ("grooming", grooming)):
            # Explaining costs a little: only for a risk a parent's override or sensitivity could alert on.
            if p >= MIN_THRESHOLD:
                folded = fold_keep_length(text) if folded is None else folded
                own_candidates = candidates[risk] if candidates else None
                evidence, spans = self.explain(text, row, lang, risk, folded, own_candidates)
                own = RiskEvidence(evidence, snippet_around(text, spans[0] if spans else None))
                by_risk.append((risk, own))
        kind = self.scam_kind(row) if scam >= MIN_THRESHOLD else ""
        score = Score(scam=scam, grooming=grooming, lang=lang, by_risk=tuple(by_risk), scam_kind=kind)
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
        self,
        text: str,
        row: _Row | sp.csr_matrix,
        lang: str,
        label: str,
        folded: str | None = None,
        candidates: list[int] | None = None,
    ) -> tuple[tuple[str, ...], list[tuple[int, int]]]:
        """The phrases that pushed ``label``'s score up most, as they appear in ``text``, with their spans.

        ``row`` is the text's feature row; ``folded``, if given, is ``fold_keep_length(text)``;
        ``candidates``, if given, the row's :meth:`_candidates_of_rows`. A linear model's contribution of a
        phrase is its weight times its feature value: cheap and honest.
        """
        candidates = self._candidates(row, label) if candidates is None else candidates
        if not candidates:
            return (), []
        folded = fold_keep_length(text) if folded is None else folded
        evidence: list[str] = []
        spans: list[tuple[int, int]] = []
        for feature in candidates:
            if len(evidence) >= MAX_EVIDENCE:
                break
            phrase = self._phrases[feature]
            if EVIDENCE_STOPWORDS.issuperset(phrase.split()):
                continue
            span = evidence_span(phrase, lang, folded)
            if span is None:
                continue
            found = text[span[0] : span[1]].strip()
            if found and not any(found.lower() in e.lower() for e in evidence):
                evidence = [e for e in evidence if e.lower() not in found.lower()]
                evidence.append(found)
                spans.append(span)
        return tuple(evidence), spans

    def _candidates(self, row: _Row | sp.csr_matrix, label: str) -> list[int]:
        """The word features of one feature row that push ``label`` up, strongest first: the phrases
        :meth:`explain` may show (character n-grams never are)."""
        idx = row.indices
        contributions = row.data * self._coef[label][idx]
        order = np.argsort(-contributions)
        # The word features before the first contribution that is not positive, picked out with numpy
        # rather than a Python loop.
        stop = np.flatnonzero(contributions[order] <= 0)
        order = order[: stop[0] if len(stop) else len(order)]
        features = idx[order]
        return features[self._word_feature[features]].tolist()

    def _candidates_of_rows(self, x: sp.csr_matrix) -> list[dict[str, list[int]]]:
        """:meth:`_candidates` of every row of ``x`` for each risk, found for all rows at once.

        A row where two candidates push equally is left to :meth:`_candidates`: the order of ties is its
        sort's, which a sort over all rows need not repeat. Otherwise the order is the contributions'.
        """
        if x.shape[0] == 1:  # one row: its own sort costs fewer numpy calls
            return [{label: self._candidates(_Row.of(x, 0), label) for label in self._risks}]
        lengths = np.diff(x.indptr)
        all_rows = np.repeat(np.arange(x.shape[0]), lengths)
        word = self._word_feature[x.indices]
        out: list[dict[str, list[int]]] = [{} for _ in range(x.shape[0])]
        for label in self._risks:
            contributions = x.data * self._coef[label][x.indices]
            keep = (contributions > 0) & word
            rows, values, features = all_rows[keep], contributions[keep], x.indices[keep]
            order = np.lexsort((-values, rows))
            rows, values, features = rows[order], values[order], features[order]
            bounds = np.searchsorted(rows, np.arange(x.shape[0] + 1)).tolist()
            same = (rows[1:] == rows[:-1]) & (values[1:] == values[:-1])
            tied = set(rows[1:][same].tolist())
            flat = features.tolist()
            for i, own in enumerate(out):
                own[label] = (
                    self._candidates(_Row.of(x, i), label) if i in tied else flat[bounds[i] : bounds[i + 1]]
                )
        return out

    def _known_phishing(self, score: Score, reason: str, text: str) -> Score:
        """``score`` raised to a high phishing alert for a reason of the page's address, named first in its
        evidence."""
        own = score.evidence_for("scam")
        if own.evidence and own.evidence[0] == reason:
            return score
        scam = RiskEvidence(
            (reason, *own.evidence)[:MAX_EVIDENCE],
            own.snippet or snippet_around(text, None),
        )
        by_risk = (*((r, e) for r, e in score.by_risk if r != "scam"), ("scam", scam))
        return self.apply_own_decision(
            replace(score, scam=max(score.scam, 0.99), by_risk=by_risk, scam_kind="phishing")
        )


def _hold_short(normalized: Sequence[str], probs: dict[str, np.ndarray]) -> None:
    """Hold texts of fewer than MIN_MESSAGE_WORDS normalised words below every threshold, in place: one word
    ("you", "ur", "0000000000") is no evidence either way."""
    short = np.array([len(text.split()) < MIN_MESSAGE_WORDS for text in normalized], dtype=bool)
    if short.any():
        for risk in probs:
            probs[risk][short] = np.minimum(probs[risk][short], SHORT_CAP)


def snippet_around(text: str, span: tuple[int, int] | None, width: int = SNIPPET_CHARS) -> str:
    """At most ``width`` characters of ``text`` centred on ``span`` (the start of the text without one)."""
    if len(text) <= width:
        return one_spaced(text)
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
    return one_spaced(piece)


def one_spaced(text: str) -> str:
    """``text`` with every run of whitespace made one space, and none at its ends."""
    return " ".join(text.split())


def text_of(array: np.ndarray) -> str:
    """A UTF-8 string stored in the artifact as a uint8 array."""
    return np.asarray(array, dtype=np.uint8).tobytes().decode("utf-8")


def read_artifact(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a plain artifact. ``allow_pickle=False``: an artifact can hold numbers and text only."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}
