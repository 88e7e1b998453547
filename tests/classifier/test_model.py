"""The risk model: training end to end on a small slice, integrity-checked loading, decisions, evidence."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from classifier.corpus import CORPUS_DIR
from classifier.model import ARTIFACT_NAME, CARD_NAME, ModelIntegrityError, ModelLoadError, RiskModel
from classifier.records import ChatMessage
from classifier.train import SNAPSHOT_SOURCES


@pytest.fixture(scope="module")
def small_model_dir(tmp_path_factory, shared_data):
    """A model trained end to end on a small slice of every source (the same code as `make model`)."""
    from classifier.train import train

    out = tmp_path_factory.mktemp("model")
    corpus = sorted(CORPUS_DIR.glob("*.jsonl"))
    train(
        shared_data,
        out,
        corpus_paths=corpus,
        limit_per_source=300,
        chitchat_conversations=100,
        version="test-slice",
        progress=lambda message: None,
    )
    return out


def test_training_on_a_slice_writes_an_artifact_and_a_complete_card(small_model_dir):
    card = json.loads((small_model_dir / CARD_NAME).read_text(encoding="utf-8"))
    assert card["version"] == "test-slice"
    assert card["artifact"]["file"] == ARTIFACT_NAME and len(card["artifact"]["sha256"]) == 64
    assert {"scam", "grooming"} <= set(card["thresholds"])
    for t in card["thresholds"].values():
        assert 0 < t["alert"] <= t["medium"] <= t["high"] < 1
    assert any(f["path"].endswith("sms_spam_train.tsv") and len(f["sha256"]) == 64 for f in card["data"])
    assert {"en", "vi"} <= set(card["metrics"]["per_language"])
    # The fetched pages and chat lines (tests/conftest.py's small mirror) are trained on, each snapshot named.
    snapshots = {s["source"]: s["commit"] for s in card["snapshots"]}
    assert set(snapshots) == {source.example_source for source in SNAPSHOT_SOURCES}
    assert all(len(commit) == 40 for commit in snapshots.values())
    assert "scikit-learn" in card["libraries"]
    model = RiskModel.load(small_model_dir / ARTIFACT_NAME)
    assert model.version == "test-slice"
    assert model.score_message("hello, see you at school tomorrow").alert is None


def test_evaluate_held_out_reproduces_the_cards_figures(small_model_dir):
    """`notalone evaluate --held-out`, given the slice training used, prints the card's own figures."""
    from click.testing import CliRunner

    from notalone.cli import main

    card = json.loads((small_model_dir / CARD_NAME).read_text(encoding="utf-8"))
    args = ["--limit-per-source", "300", "--chitchat", "100", "--model", str(small_model_dir / ARTIFACT_NAME)]
    result = CliRunner().invoke(main, ["evaluate", "--held-out", "--json", *args])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    for group in ("overall", "per_source", "per_language", "hard_negatives"):
        assert figures[group] == card["metrics"][group], group
    assert {"vi-sms", "sms-uci", "pj-offender"} <= set(figures["per_source"])
    table = CliRunner().invoke(main, ["evaluate", "--held-out", *args])
    assert "| vi-sms | scam |" in table.stdout


def test_training_is_deterministic(small_model_dir, shared_data, tmp_path):
    from classifier.train import train

    corpus = sorted(CORPUS_DIR.glob("*.jsonl"))
    card = train(
        shared_data,
        tmp_path,
        corpus_paths=corpus,
        limit_per_source=300,
        chitchat_conversations=100,
        version="test-slice",
        progress=lambda message: None,
    )
    first = json.loads((small_model_dir / CARD_NAME).read_text(encoding="utf-8"))
    assert card["artifact"]["sha256"] == first["artifact"]["sha256"]
    assert card["thresholds"] == first["thresholds"]
    assert card["metrics"] == first["metrics"]


def test_a_tampered_artifact_is_refused_before_unpickling(small_model_dir, tmp_path):
    shutil.copy(small_model_dir / CARD_NAME, tmp_path / CARD_NAME)
    data = bytearray((small_model_dir / ARTIFACT_NAME).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / ARTIFACT_NAME).write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        RiskModel.load(tmp_path / ARTIFACT_NAME)


def test_a_pickle_that_would_run_code_is_never_loaded(small_model_dir, tmp_path):
    import pickle

    class Exploit:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    shutil.copy(small_model_dir / CARD_NAME, tmp_path / CARD_NAME)
    (tmp_path / ARTIFACT_NAME).write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(ModelIntegrityError):
        RiskModel.load(tmp_path / ARTIFACT_NAME)
    assert not (tmp_path / "pwned").exists()


def test_missing_artifact_or_card_is_a_clear_error(small_model_dir, tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        RiskModel.load(tmp_path / ARTIFACT_NAME)
    shutil.copy(small_model_dir / ARTIFACT_NAME, tmp_path / ARTIFACT_NAME)
    with pytest.raises(ModelLoadError, match="model card"):
        RiskModel.load(tmp_path / ARTIFACT_NAME)


def test_the_plain_scorer_scores_exactly_as_the_trained_pipeline(small_model_dir):
    """Training compares the plain scorer (read back from the .npz) with the fitted scikit-learn pipeline
    on the held-out texts: features, both risks, stages and kinds."""
    parity = json.loads((small_model_dir / CARD_NAME).read_text(encoding="utf-8"))["parity"]
    assert parity["texts"] > 100
    assert parity["max_feature_difference"] < 1e-6
    assert parity["max_scam_difference"] < 1e-5 and parity["max_grooming_difference"] < 1e-5
    assert parity["max_stage_difference"] < 1e-5
    assert parity["kind_disagreements"] == 0


def test_scoring_never_imports_scikit_learn_or_unpickles(small_model_dir):
    import subprocess
    import sys

    code = (
        "import sys; from classifier.model import RiskModel; "
        f"m = RiskModel.load({str(small_model_dir / ARTIFACT_NAME)!r}); "
        "m.score_message('free robux here'); m.score_page('<p>hello</p>'); "
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('sklearn', 'joblib')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_evidence_names_the_words_as_typed_and_the_snippet_is_short(shipped_model):
    text = ("Hey!! " * 100) + "You won 10,000 FR33 R0BUX! Log in with your Roblox password at "
    text += "robux-claim.xyz before midnight to claim them. " + ("More text here. " * 80)
    score = shipped_model.score_page_text(__import__("classifier.records").records.PageText("", text))
    assert score.alert == "scam"
    assert score.evidence and all(e in text for e in score.evidence)
    assert len(score.snippet) <= 500
    assert any(e in score.snippet for e in score.evidence)


def test_grooming_builds_up_over_a_conversation_and_names_its_stages(shipped_model):
    turns = [
        ("sam", "gg that was a sick clutch"),
        ("kid", "thx lol"),
        ("sam", "u play every day?"),
        ("kid", "ya after school"),
        ("sam", "how old r u btw"),
        ("kid", "12"),
        ("sam", "ur way more mature than 12 honestly"),
        ("sam", "i can get u the battle pass, my treat"),
        ("sam", "dont tell ur parents tho they would get weird about it"),
        ("sam", "add me on snap its easier to talk there"),
        ("sam", "send me a selfie so i know ur real"),
    ]
    messages = [ChatMessage(sender=s, text=t, from_child=s == "kid") for s, t in turns]
    early = shipped_model.score_conversation(messages[:3])
    full = shipped_model.score_conversation(messages)
    assert early.alert is None
    assert full.alert == "grooming" and full.grooming > early.grooming
    assert len(full.stages) >= 2
    assert full.evidence


@pytest.mark.parametrize(
    "text",
    [
        "Class reminder: bring your permission slip and the $5 for the museum trip by Friday.",
        "Scam alert from your school: nobody from Roblox will ever ask for your password. Free Robux "
        "generators are fake, do not log in on them.",
        "Cô nhắc các em nộp ngày sinh để cô làm hồ sơ thi nhé, hạn thứ Sáu.",
        "Đừng nói với mẹ nha, tụi mình làm sinh nhật bất ngờ cho mẹ tối thứ Bảy.",
        "ông nội nhập viện rồi, tối nay cả nhà vào thăm ông nhé con",
        "gg bro, wanna duo again tomorrow after school?",
        "Official giveaway rules: one entry per person, winners drawn on stream, we never ask for passwords.",
    ],
)
def test_hard_negatives_raise_no_alert(shipped_model, text):
    score = shipped_model.score_message(text)
    assert score.alert is None, (score.scam, score.grooming, score.evidence)


@pytest.mark.parametrize(
    "text, label",
    [
        (
            "Congratulations! You have been selected to receive 5000 free V-Bucks. Verify your Epic account "
            "here: epic-vbucks-gift.com",
            "scam",
        ),
        ("e ơi a là admin free fire, e nạp 50k qua stk này a x10 kim cương cho e nhé", "scam"),
        ("Con anh chị bị tai nạn đang cấp cứu, cần chuyển gấp 30 triệu vào tài khoản bệnh viện", "scam"),
        (
            "cuc canh sat thong bao em lien quan vu an rua tien, khong duoc noi voi bo me, tat dinh vi ngay",
            "scam",
        ),
    ],
)
def test_scams_in_english_and_vietnamese_alert(shipped_model, text, label):
    assert shipped_model.score_message(text).alert == label


BLOCKLISTED = "http://0.watch-video.net/login"  # listed by Chống Lừa Đảo (../shared/data)


def test_a_known_phishing_host_is_a_high_scam_alert_whatever_the_text(shipped_model):
    html = "<title>Welcome</title><p>Hello, please sign in to continue.</p>"
    assert shipped_model.score_page(html, url="https://homework.example/").alert is None
    score = shipped_model.score_page(html, url=BLOCKLISTED)
    assert (score.alert, score.severity) == ("scam", "high")
    assert score.evidence[0] == "known phishing site: 0.watch-video.net"
    assert shipped_model.with_url_reputation(score, BLOCKLISTED) == score  # applied once


def test_the_fast_vectorizers_give_scikit_learns_rows():
    import numpy as np

    from classifier.features import FastTfidf, char_wb_ngrams
    from classifier.normalize import normalize
    from classifier.train import build_features

    texts = [
        normalize(t)
        for t in (
            "FREE robux at robux-gift.xyz!!",
            "em ơi cho chị xin stk nhé",
            "a",
            "",
            "ok",
            "Congratulations you won an iPhone " * 40,
            "gửi ảnh đi, đừng nói với bố mẹ nha " * 10,
            "Sign in. Password. Forgot password? Create account",
            "",
        )
    ]
    features = build_features().fit((texts[:2] + texts[5:] + ["ok ok robux free gift"]) * 3)
    for name, vectorizer in features.transformer_list:
        fast = FastTfidf.from_vectorizer(vectorizer, name)
        expected = vectorizer.transform(texts).toarray()
        # Twice: the first batch fills the per-word cache, the second reads from it.
        for _ in range(2):
            assert np.allclose(fast.transform(texts).toarray(), expected, atol=1e-6)
        for text, row in zip(texts, expected, strict=True):
            columns, values = fast.row(text)
            assert np.array_equal(columns, np.flatnonzero(row)) and np.allclose(
                values, row[columns], atol=1e-6
            )
            assert np.array_equal(
                fast.transform([text]).toarray()[0], np.asarray(fast.transform([text, ""]).toarray()[0])
            )
    char = next(v for _, v in features.transformer_list if v.analyzer == "char_wb")
    for text in texts:
        assert sorted(char_wb_ngrams(text, *char.ngram_range)) == sorted(char.build_analyzer()(text))


def test_an_artifact_holding_a_pickle_is_refused_even_with_a_matching_card(small_model_dir, tmp_path):
    import hashlib
    import io
    import pickle
    import zipfile

    import numpy as np

    class Exploit:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([Exploit()], dtype=object), allow_pickle=True)
    artifact = tmp_path / ARTIFACT_NAME
    with zipfile.ZipFile(artifact, "w") as archive:
        archive.writestr("meta.npy", buffer.getvalue())
    card = json.loads((small_model_dir / CARD_NAME).read_text(encoding="utf-8"))
    card["artifact"]["sha256"] = hashlib.sha256(artifact.read_bytes()).hexdigest()
    (tmp_path / CARD_NAME).write_text(json.dumps(card), encoding="utf-8")
    assert pickle  # the exploit above is what pickle would run
    with pytest.raises(ModelLoadError):
        RiskModel.load(artifact)
    assert not (tmp_path / "pwned").exists()


def test_reputation_matches_what_the_blocklist_lists(small_model_dir):
    """The list names scam pages on big platforms (www.facebook.com/<page>, sites.google.com/view/<page>):
    those pages are flagged, the platforms are not; bare hosts are flagged with their subdomains."""
    model = RiskModel.load(small_model_dir / ARTIFACT_NAME)
    assert model.blocked_host("https://www.facebook.com/") is None
    assert model.blocked_host("https://www.facebook.com/some.ordinary.page") is None
    assert model.blocked_host("https://youtube.com/watch?v=abc") is None
    assert model.blocked_host("https://sites.google.com/view/another-site") is None
    assert model.blocked_host("https://www.facebook.com/BVCHORAY") == "facebook.com/bvchoray"
    assert model.blocked_host("http://facebook.com/BVCHORAY/posts/12?x=1") == "facebook.com/bvchoray"
    assert model.blocked_host("https://sites.google.com/view/hoadondo/") == "sites.google.com/view/hoadondo"
    assert model.blocked_host("https://0.watch-video.net/login") == "0.watch-video.net"
    assert model.blocked_host("https://a.b.0.watch-video.net:8443/") == "0.watch-video.net"
    assert model.blocked_host("https://watch-video.net/") is None


def test_a_link_inside_a_page_does_not_make_the_page_a_phishing_site(small_model_dir):
    model = RiskModel.load(small_model_dir / ARTIFACT_NAME)
    html = (
        "<title>Banana bread</title><p>Mash three ripe bananas, stir in flour and bake for an hour.</p>"
        '<a href="https://www.facebook.com/BVCHORAY">share</a> <a href="http://0.watch-video.net/">x</a>'
    )
    page = model.score_page(html, url="https://recipes.example/banana-bread")
    assert not any(e.startswith("known phishing site") for e in page.evidence_for("scam").evidence)
    assert page.scam < 0.99
    listed = model.score_page(html, url="https://www.facebook.com/BVCHORAY")
    assert (listed.alert, listed.scam_kind) == ("scam", "phishing")


_MIXED_MESSAGES = [
    "see you at school tomorrow",
    "em oi cho chi xin stk nhe, chuyen khoan 500k la xong",
    "FREE R0BUX!!! log in at robux-gift.xyz with your password",
    "u r so pretty, send pics, dont tell ur mom",
    "Win a FREE iPhone, call 0912345678 or mail win@prize.example now",
    "ok",
    "",
    "gửi ảnh đi, đừng nói với bố mẹ nha",
    "homework is on page 12, due Friday",
]


def test_batch_scores_are_each_messages_own_decision(shipped_model):
    """The batch skips explaining messages below every threshold: its scores are still exactly what deciding
    each message on its own row gives."""
    from classifier.model import MIN_MESSAGE_WORDS, SHORT_CAP, _Row
    from classifier.normalize import detect_lang, normalize

    scores = shipped_model.score_messages(_MIXED_MESSAGES)
    langs = [detect_lang(t) for t in _MIXED_MESSAGES]
    normalized = [normalize(t, lang) for t, lang in zip(_MIXED_MESSAGES, langs, strict=True)]
    x = shipped_model.vectorize(normalized)
    probs = shipped_model.probabilities(x)
    for i, (text, score) in enumerate(zip(_MIXED_MESSAGES, scores, strict=True)):
        scam, grooming = float(probs["scam"][i]), float(probs["grooming"][i])
        if len(normalized[i].split()) < MIN_MESSAGE_WORDS:  # one word ("ok") is held below every threshold
            scam, grooming = min(scam, SHORT_CAP), min(grooming, SHORT_CAP)
        own = shipped_model._decide(text, _Row.of(x, i), langs[i], scam, grooming)
        assert score == replace(own, stages=score.stages)
        assert shipped_model.score_message(text) == score  # one row at a time: the same


def _former_explain(model, text, row, lang, label):
    """The explanation as first written: every feature of the row, strongest first, in a Python loop."""
    from classifier.model import EVIDENCE_STOPWORDS, MAX_EVIDENCE
    from classifier.normalize import evidence_pattern, fold_keep_length

    idx = row.indices
    contributions = row.data * model._coef[label][idx]
    folded = fold_keep_length(text)
    evidence, spans = [], []
    for j in np.argsort(-contributions):
        if contributions[j] <= 0 or len(evidence) >= MAX_EVIDENCE:
            break
        phrase = model._phrases[idx[j]]
        if not model._word_feature[idx[j]] or EVIDENCE_STOPWORDS.issuperset(phrase.split()):
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


def test_explanations_are_what_the_former_loop_gave(shipped_model):
    from classifier.model import _Row
    from classifier.normalize import detect_lang, normalize

    for text in [*_MIXED_MESSAGES, "Hey!! " * 100 + "You won 10,000 FR33 R0BUX! Log in with your password"]:
        lang = detect_lang(text)
        row = _Row.of(shipped_model.vectorize([normalize(text, lang)]), 0)
        for label in ("scam", "grooming"):
            expected = _former_explain(shipped_model, text, row, lang, label)
            assert shipped_model.explain(text, row, lang, label) == expected


def test_candidates_found_for_all_rows_at_once_are_each_rows_own(shipped_model):
    """The batch's candidates for explaining equal one row's own, in order: for empty, very long,
    Vietnamese with and without diacritics, teen-code, URL and emoji texts, and for a row whose candidates
    tie (a feature repeated), which is left to the one-row sort."""
    import scipy.sparse as sp

    from classifier.model import _Row
    from classifier.normalize import detect_lang, normalize

    texts = [
        *_MIXED_MESSAGES,
        "",
        "em ơi cho chị xin stk nhé, chuyển khoản 500k " * 200,
        "em oi cho chi xin stk nhe, ck 500k",
        "u r so cute 😍 send pic plz, dont tell ur mom",
        "claim free robux at https://bit.ly/fr33-r0bux now 🎁",
    ]
    x = shipped_model.vectorize([normalize(t, detect_lang(t)) for t in texts])
    rows = [_Row.of(x, i) for i in range(x.shape[0])]
    top = shipped_model._candidates(rows[-1], "scam")[0]
    tied = sp.csr_matrix(([0.5, 0.5], [top, top], [0, 2]), shape=(1, x.shape[1]), dtype=np.float32)
    x = sp.vstack([x, tied], format="csr")
    found = shipped_model._candidates_of_rows(x)
    assert found[-1]["scam"][:2] == [top, top]
    for i, own in enumerate(found):
        for label in ("scam", "grooming"):
            assert own[label] == shipped_model._candidates(_Row.of(x, i), label), (i, label)
    assert any(own["scam"] for own in found) and any(own["grooming"] for own in found)


def test_a_batch_of_words_looked_up_by_id_finds_what_looking_up_each_n_gram_finds(shipped_model):
    """The word vectorizer's batch lookup (ids and pair keys) against one dictionary lookup per 1- and 2-gram,
    column for column, per text: empty, long, Vietnamese with and without diacritics, teen-code, URLs, emoji;
    and on a vocabulary with words that only appear inside a 2-gram."""
    from collections import Counter

    from classifier.normalize import normalize

    word = next(v for v in shipped_model._fast_vectorizers if v.spec.analyzer == "word")
    assert word._index is not None
    pair = next(t for t in word.vocabulary if " " in t)
    texts = [
        *_MIXED_MESSAGES,
        "",
        " ",
        "a",
        pair,
        f"{pair} {pair}",
        "em ơi cho chị xin stk nhé, chuyển khoản 500k " * 300,
        "em oi cho chi xin stk nhe ko bn",
        "u r so cute 😍 send pic plz",
        "claim free robux at https://bit.ly/fr33-r0bux now 🎁",
    ]
    normalized = [normalize(t) for t in texts]
    columns, lengths = word._found_by_index(normalized)
    assert sum(lengths) == len(columns)
    starts = np.cumsum([0, *lengths])
    get = word.vocabulary.get
    for i, text in enumerate(normalized):
        expected = Counter(c for c in map(get, word.analyze(text)) if c is not None)
        assert Counter(columns[starts[i] : starts[i + 1]].tolist()) == expected, text[:40]
        for found in (word._found_by_index, word._found):  # by id, and as a short text is looked up
            one, _ = found([text])
            assert Counter(one.tolist()) == expected

    from classifier.features import FastTfidf, VectorizerSpec

    spec = VectorizerSpec("word", "word", (1, 2), r"(?u)\b\w\w+\b", True)
    small = FastTfidf(spec, {"free": 0, "robux now": 1, "now": 2, "xx yy": 3, "yy": 4}, np.ones(5))
    columns, lengths = small._found_by_index(["free robux now", "xx yy xx", "", "yy xx yy", "robux"])
    assert lengths == [3, 2, 0, 3, 0] and columns.tolist() == [0, 2, 1, 4, 3, 4, 4, 3]


def test_snippets_collapse_whitespace_as_the_former_expression():
    """Whitespace runs made one space by str.split rather than a regex: the same text, Unicode spaces,
    control separators and zero-width characters included."""
    import random
    import re

    from classifier.model import one_spaced

    rng = random.Random(5)
    alphabet = list("ab \t\n\r\x0b\x0c\x1c\x1f\x85\u00a0\u2003\u200b\u3000😀đ")
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 3, 40, 500])))
        assert one_spaced(text) == re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("odd", ["a b c", " a", "a ", "", "a  b", "a\nb"])
def test_a_vocabulary_of_other_terms_keeps_the_string_lookups(odd):
    from classifier.features import WordIndex

    assert WordIndex.of({"free": 0, "free robux": 1, odd: 2}) is None
    assert WordIndex.of({"free": 0, "free robux": 1}) is not None


def test_a_one_word_message_is_no_evidence_either_way_but_a_bare_link_is_more_than_a_word(shipped_model):
    """Real teens' one-word lines ("you", "yes", "damn") read as risky to the model; they never alert. A
    bare link and a two-word line are scored as usual."""
    for word in ("you", "yes", "damn", "ur", "0000000000", "😀"):
        score = shipped_model.score_message(word)
        assert score.alert is None and max(score.scam, score.grooming) < 0.05, word
    link = "bit.ly/free-robux-2026"  # one word as written, several once normalised (a link, its words)
    as_text = shipped_model.score_messages([link], kind="page")[0]
    assert shipped_model.score_message(link).scam == as_text.scam > 0.5
    assert shipped_model.score_message("u alone?").grooming > 0.5
