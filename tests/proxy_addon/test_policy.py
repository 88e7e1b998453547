"""The alert policy: model thresholds, the parent's overrides and each child's sensitivity."""

from __future__ import annotations

import time

from alert_store import Alert, AlertStore, SettingKey
from classifier.decision import Policy
from classifier.model import Thresholds
from classifier.records import Score
from proxy_addon.options import Settings
from proxy_addon.retention import RetentionPurge

MODEL = {"scam": Thresholds(0.4, 0.75, 0.92), "grooming": Thresholds(0.3, 0.75, 0.92)}


def test_the_model_thresholds_decide_by_default():
    policy = Policy(thresholds=MODEL)
    assert policy.decide(Score(scam=0.39, grooming=0.1), "An") is None
    decision = policy.decide(Score(scam=0.5, grooming=0.1), "An")
    assert (decision.category, decision.severity, decision.probability) == ("scam", "low", 0.5)
    assert policy.decide(Score(scam=0.95, grooming=0.1), "An").severity == "high"


def test_the_risk_furthest_past_its_threshold_wins():
    policy = Policy(thresholds=MODEL)
    assert policy.decide(Score(scam=0.45, grooming=0.6), "An").category == "grooming"


def test_a_sensitive_child_is_alerted_earlier_and_a_relaxed_one_later():
    policy = Policy(thresholds=MODEL, sensitivity={"An": {"grooming": "high"}, "Binh": {"scam": "low"}})
    assert policy.decide(Score(scam=0.0, grooming=0.25), "An").category == "grooming"
    assert policy.decide(Score(scam=0.0, grooming=0.25), "Binh") is None
    assert policy.decide(Score(scam=0.45, grooming=0.0), "Binh") is None
    assert policy.decide(Score(scam=0.45, grooming=0.0), "An") is not None


def test_parent_overrides_replace_the_model_threshold():
    policy = Policy(thresholds=MODEL, overrides={"scam": 0.8})
    assert policy.decide(Score(scam=0.7, grooming=0.0), "An") is None
    assert policy.decide(Score(scam=0.85, grooming=0.0), "An").severity == "medium"


def test_dashboard_settings_reach_the_addon_settings(tmp_path):
    base = Settings(data_dir=tmp_path)
    parent = {
        SettingKey.MODE: "warn",
        SettingKey.IGNORE_HOSTS: ["*.bank.example"],
        SettingKey.THRESHOLD_SCAM: 0.6,
        SettingKey.RETENTION_DAYS: 7,
    }
    settings, problems = base.with_parent_settings(parent)
    assert problems == []
    assert settings.mode == "warn" and settings.retention_days == 7
    assert settings.ignores("www.bank.example")
    assert dict(settings.threshold_overrides) == {"scam": 0.6}


def test_bad_dashboard_settings_are_reported_and_ignored(tmp_path):
    base = Settings(data_dir=tmp_path)
    settings, problems = base.with_parent_settings(
        {SettingKey.MODE: "spy", SettingKey.THRESHOLD_GROOMING: 7, SettingKey.RETENTION_DAYS: "forever"}
    )
    assert settings.mode == "monitor" and settings.threshold_overrides == () and settings.retention_days == 30
    assert len(problems) == 3 and any("proxy.mode" in p for p in problems)


def _forty_days_old() -> Alert:
    return Alert(
        child="An",
        category="scam",
        severity="high",
        probability=0.9,
        snippet="old",
        created_at=time.time() - 40 * 86400,
    )


def test_retention_purges_at_most_once_per_interval(tmp_path):
    with AlertStore(tmp_path / "db.sqlite") as store:
        store.add(_forty_days_old())
        purge = RetentionPurge(every_s=3600)
        assert purge.maybe_purge(store, days=30, now=0.0) == 1
        store.add(_forty_days_old())
        assert purge.maybe_purge(store, days=30, now=10.0) == 0
        assert purge.maybe_purge(store, days=30, now=3601.0) == 1


def test_scores_are_cached_by_content_and_the_address_reputation_applied_per_visit(shipped_model):
    """The scoring process's cache: the same content under many addresses is scored once, and the
    address's own reputation (the phishing list) is applied to each visit."""
    from proxy_addon.scoring_process import PAGE, Scoring

    calls = []

    class Counting:
        version = shipped_model.version
        with_url_reputation = staticmethod(shipped_model.with_url_reputation)

        def score_page(self, html, url=""):
            calls.append(url)
            return shipped_model.score_page(html, url=url)

    scoring = Scoring(Counting())
    html = "<title>Welcome</title><p>Hello, please sign in to continue.</p>"
    first = scoring.score(PAGE, html, "https://homework.example/a", ())
    second = scoring.score(PAGE, html, "https://homework.example/b?utm=1", ())
    listed = scoring.score(PAGE, html, "http://0.watch-video.net/login", ())
    assert calls == [""]  # scored once, without its address
    assert first == second and first.alert is None
    assert listed.alert == "scam" and listed.severity == "high"

    # A brand's sign-in page: scored once, its own host and a clone's host told apart on each visit.
    clone = "<title>Log in to Facebook</title><p>Connect with friends.</p><input type='password'>"
    real = scoring.score(PAGE, clone, "https://www.facebook.com/login", ())
    cloned = scoring.score(PAGE, clone, "http://fb-verify.example/login", ())
    assert calls == ["", ""]
    assert real.alert is None
    assert cloned.alert == "scam" and cloned.evidence[0] == "a Facebook sign-in page on fb-verify.example"
