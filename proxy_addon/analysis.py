"""Turn what the child saw or sent into scores and alerts: the work the background worker does.

Pages are scored alone; chat messages join their conversation's window in the store and the window is
scored as a whole, the child's own turns ("outgoing") together with the other side's ("incoming").
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cachetools import LRUCache

from alert_store import Alert, AlertStore, ChatTurn
from classifier.decision import Decision, Policy
from classifier.records import ChatMessage, Score
from proxy_addon import chat_text
from proxy_addon.conversation import conversation_key
from proxy_addon.scoring import CONVERSATION, PAGE, TEXT, ScoreRequest, Scoring, score_now

if TYPE_CHECKING:
    from proxy_addon.state import Suppressions

SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}
REALERT_AFTER_S = 3600.0
CHILD_SENDER = "child"
OTHER_SENDER = "other"


@dataclass(frozen=True)
class FlowContext:
    """Who saw what, where: everything an alert needs besides the score."""

    child: str
    device: str
    url: str
    host: str
    path: str = ""
    title: str = ""
    app: str = ""


class AlertGate:
    """One alert per (child, subject, category), again only when it escalates: the severity rises, a
    grooming stage not alerted before appears, or an hour has passed."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._seen: LRUCache[tuple[str, str, str], tuple[int, frozenset[str], float]] = LRUCache(capacity)
        self._lock = threading.Lock()

    def admit(
        self,
        child: str,
        subject: str,
        category: str,
        severity: str,
        stages: Sequence[str] = (),
        now: float | None = None,
    ) -> bool:
        now = now or time.time()
        rank = SEVERITY_RANK.get(severity, 0)
        key = (child, subject, category)
        with self._lock:
            previous = self._seen.get(key)
            if previous is not None:
                old_rank, old_stages, when = previous
                escalated = rank > old_rank or not set(stages) <= old_stages
                if not escalated and now - when < REALERT_AFTER_S:
                    return False
                rank, stages = max(rank, old_rank), (*stages, *old_stages)
            self._seen[key] = (rank, frozenset(stages), now)
            return True

    def forget(self, child: str, subject: str, category: str) -> None:
        """Undo an admission whose alert could not be written, so that a retry is admitted."""
        with self._lock:
            self._seen.pop((child, subject, category), None)


class RecentTurns:
    """Remembers the last messages of each conversation so that a chat app re-sending its history (every
    poll returns the last 50 messages) does not append the same turns again."""

    def __init__(self, per_conversation: int = 500, conversations: int = 2000) -> None:
        self._seen: LRUCache[str, tuple[set[str], deque[str]]] = LRUCache(conversations)
        self.per_conversation = per_conversation

    @staticmethod
    def _digest(direction: str, text: str) -> str:
        return hashlib.blake2b(f"{direction}\x00{text}".encode(), digest_size=12).hexdigest()

    def forget(self, key: str, direction: str, text: str) -> None:
        """Un-see a message whose append failed, so that a retry appends it."""
        if key in self._seen:
            self._seen[key][0].discard(self._digest(direction, text))

    def is_new(self, key: str, direction: str, text: str) -> bool:
        digest = self._digest(direction, text)
        seen, order = self._seen.get(key) or (set(), deque())
        self._seen[key] = (seen, order)
        if digest in seen:
            return False
        seen.add(digest)
        order.append(digest)
        if len(order) > self.per_conversation:
            seen.discard(order.popleft())
        return True


class Analysis:
    """Scores pages and conversations and writes the alerts. Runs on the worker thread only."""

    def __init__(
        self, scoring: Callable[[], Scoring | None], suppressions: Callable[[], Suppressions] | None = None
    ) -> None:
        self._scoring = scoring
        self._suppressions = suppressions
        # Replaced whenever the model loads or the parent changes thresholds or sensitivity.
        self.policy = Policy()
        self.gate = AlertGate()
        self.recent = RecentTurns()

    def score(self, request: ScoreRequest) -> Score | None:
        """Wait for the scoring process (on the worker thread only, never on the event loop)."""
        scoring = self._scoring()
        return score_now(scoring, request) if scoring is not None else None

    def decide(self, ctx: FlowContext, score: Score, conversation: str = "") -> Decision | None:
        """The one decision (classifier.decision), unless the parent called this site or sender a false
        alarm for this child."""
        if self._suppressions is not None and self._suppressions().silences(ctx, conversation):
            return None
        return self.policy.decide(score, ctx.child)

    # -- pages ------------------------------------------------------------------------------------------
    @staticmethod
    def page_request(ctx: FlowContext, text: str, *, is_html: bool) -> ScoreRequest:
        return ScoreRequest(PAGE if is_html else TEXT, text, ctx.url)

    def page(self, store: AlertStore, ctx: FlowContext, request: ScoreRequest) -> Score | None:
        if not request.text:
            return None
        score = self.score(request)
        if score is not None:
            self.record(store, ctx, score, direction="incoming", subject=ctx.url, text=request.text[:2000])
        return score

    # -- chat -------------------------------------------------------------------------------------------
    def chat(
        self, store: AlertStore, ctx: FlowContext, strings: Sequence[chat_text.ChatString], direction: str
    ) -> Score | None:
        """Append the new turns to their conversations, then score each conversation that grew."""
        grown: dict[str, list[ChatTurn]] = {}
        for item in strings:
            key = conversation_key(ctx.host, ctx.path, item.conversation)
            if not self.recent.is_new(key, direction, item.text):
                continue
            sender = item.sender or (CHILD_SENDER if direction == "outgoing" else OTHER_SENDER)
            try:
                grown[key] = store.append_turn(key, ChatTurn(sender, item.text, direction))
            except Exception:
                self.recent.forget(key, direction, item.text)  # a retry of this job must append it
                raise
        last: Score | None = None
        for key, window in grown.items():
            messages = tuple(
                ChatMessage(t.sender, t.text, from_child=t.direction == "outgoing") for t in window
            )
            last = self.score(ScoreRequest(CONVERSATION, messages=messages))
            if last is None:
                return None
            # The other person, as the chat names them: the newest sender of an incoming turn.
            counterpart = next(
                (
                    t.sender
                    for t in reversed(window)
                    if t.direction != "outgoing" and t.sender != OTHER_SENDER
                ),
                "",
            )
            self.record(
                store,
                ctx,
                last,
                direction=direction,
                subject=key,
                text=window[-1].text,
                conversation=key,
                counterpart=counterpart,
            )
        return last

    def chat_body(
        self, store: AlertStore, ctx: FlowContext, body: str, content_type: str, direction: str
    ) -> Score | None:
        """Find the messages in a JSON, form or WebSocket payload and score their conversations."""
        if "json" in content_type:
            strings = chat_text.strings_in_json_text(body)
        elif "x-www-form-urlencoded" in content_type:
            strings = chat_text.strings_in_urlencoded(body)
        else:
            strings = chat_text.message_text(body)
        return self.chat(store, ctx, strings, direction) if strings else None

    def form(self, store: AlertStore, ctx: FlowContext, fields: list[tuple[str, str]]) -> Score | None:
        strings = chat_text.strings_in_form(fields)
        return self.chat(store, ctx, strings, "outgoing") if strings else None

    # -- alerts -----------------------------------------------------------------------------------------
    def record(
        self,
        store: AlertStore,
        ctx: FlowContext,
        score: Score,
        *,
        direction: str,
        subject: str,
        text: str = "",
        conversation: str = "",
        counterpart: str = "",
    ) -> int | None:
        """Write an alert if the policy calls for one for this child and the gate lets it through."""
        decision = self.decide(ctx, score, conversation)
        if decision is None:
            return None
        severity = decision.severity
        if not self.gate.admit(ctx.child, subject, decision.category, severity, tuple(score.stages)):
            return None
        scoring = self._scoring()
        try:
            return self._add(
                store,
                ctx,
                score,
                decision,
                direction,
                text,
                conversation,
                scoring.version if scoring is not None else "",
                counterpart,
            )
        except Exception:
            self.gate.forget(ctx.child, subject, decision.category)  # a retry must write it
            raise

    @staticmethod
    def _add(
        store: AlertStore,
        ctx: FlowContext,
        score: Score,
        decision: Decision,
        direction: str,
        text: str,
        conversation: str,
        model_version: str,
        counterpart: str = "",
    ) -> int:
        return store.add(
            Alert(
                child=ctx.child,
                device=ctx.device,
                category=decision.category,
                severity=decision.severity,
                probability=decision.probability,
                snippet=(decision.snippet or text)[:500],
                direction=direction,
                url=ctx.url,
                title=score.title or ctx.title,
                app=ctx.app,
                terms=decision.evidence,
                stages=decision.stages,
                model_version=model_version,
                conversation_key=conversation,
                kind=decision.kind,
                counterpart=counterpart[:200],
            )
        )
