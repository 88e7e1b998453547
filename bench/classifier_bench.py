"""Classifier speed and size: messages/s in batch, p50/p99 per message, p50 per 100 KB HTML page (extract +
score), model load time, peak RSS and the artifact's size, measured on the shipped model in one process.
Also: the batch again once its evidence phrases' patterns are compiled, and a page's extraction and
scoring alone.

Run: ``.venv/bin/python bench/classifier_bench.py [--quick] [--json]``; the scorer is single-threaded.
Targets: >= 5,000 messages/s, <= 5 ms p50 per 100 KB page, a fresh scoring process (interpreter, model,
scoring) <= 150 MB RSS, model file <= 30 MB.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from classifier.datasets import DEFAULT_SHARED_DATA, load_sms_uci, load_vihsd
from classifier.extract import extract_visible_text
from classifier.model import ARTIFACT_NAME, MODELS_DIR, RiskModel

PAGE_BYTES = 100_000


def realistic_page(seed: int, size: int = PAGE_BYTES) -> str:
    """A 100 KB page shaped like a real one: head with scripts and styles, navigation, article text,
    comments and a footer (markup is most of the bytes, as on real sites)."""
    rng = random.Random(seed)
    words = (
        "homework fractions science project minecraft build school friends weekend game library "
        "teacher class practice football music video chapter reading notes exam review"
    ).split()
    head = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Homework help: fractions, "
        f"page {seed}</title><style>{'.c{margin:0;padding:0}' * 200}</style>"
        f"<script>{'var x = 1;' * 300}</script></head><body>"
    )
    nav = "<nav>" + "".join(f"<a href='/section/{i}'>Section {i}</a>" for i in range(60)) + "</nav>"
    parts = [head, nav, "<main><article>"]
    while sum(map(len, parts)) < size - 200:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(8, 20)))
        parts.append(
            f"<div class='post'><p class='text'>{sentence.capitalize()}.</p>"
            f"<span class='meta' data-id='{rng.randint(1, 10**9)}'>reply</span></div>"
        )
    parts.append("</article></main><footer>About us · Privacy · Contact</footer></body></html>")
    return "".join(parts)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# Peak RSS from /proc (VmHWM): getrusage's ru_maxrss survives exec, so a child started from this process
# would report this process's peak, not its own.
SCORING_PROCESS = """
import re
from classifier.model import RiskModel
from bench.classifier_bench import realistic_page
model = RiskModel.load()
model.score_messages(["see you at school tomorrow", "em oi cho chi xin stk nhe"] * 500)
model.score_page(realistic_page(1), url="https://homework.example/")
with open("/proc/self/status") as fh:
    print(int(re.search(r"VmHWM:\\s+(\\d+)", fh.read()).group(1)) / 1024)
"""


def scoring_process_rss() -> float:
    """Peak RSS (MB) of a fresh process that only loads the model and scores messages and a page: what the
    proxy's scoring process holds, interpreter included."""
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", SCORING_PROCESS], capture_output=True, text=True, check=True, cwd=root
    )
    return float(out.stdout.strip().splitlines()[-1])


def run(quick: bool) -> list[dict]:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    model = RiskModel.load()
    load_s = time.perf_counter() - started

    en = [e.text for e in load_sms_uci(DEFAULT_SHARED_DATA)]
    vi = [e.text for e in load_vihsd(DEFAULT_SHARED_DATA)]
    messages = (en[:2000] + vi[:2000]) if quick else (en + vi[:4000])
    model.score_messages(messages[:200])  # warm caches
    started = time.perf_counter()
    model.score_messages(messages)
    batch_s = time.perf_counter() - started
    # The same batch again: every evidence phrase's pattern is compiled by now (the first sight of a phrase
    # costs a regex compilation, a few tenths of a millisecond), as in a scorer that has run for a while.
    started = time.perf_counter()
    model.score_messages(messages)
    warm_s = time.perf_counter() - started

    single = messages[: 300 if quick else 1500]
    per_message = []
    for text in single:
        t = time.perf_counter()
        model.score_message(text)
        per_message.append((time.perf_counter() - t) * 1000)

    pages = [realistic_page(seed) for seed in range(10 if quick else 40)]
    extract_ms, score_ms, page_ms = [], [], []
    for html in pages:
        t = time.perf_counter()
        page = extract_visible_text(html)
        extract_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        model.score_page_text(page, url="https://homework.example/fractions")
        score_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        model.score_page(html, url="https://homework.example/fractions")
        page_ms.append((time.perf_counter() - t) * 1000)

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mb = (MODELS_DIR / ARTIFACT_NAME).stat().st_size / 1e6
    rate = len(messages) / batch_s
    return [
        {
            "benchmark": "classifier",
            "metric": "messages/s (batch, one core)",
            "value": round(rate),
            "unit": "msg/s",
            "target": ">= 5000",
        },
        {
            "benchmark": "classifier",
            "metric": "messages/s (batch again, phrases seen)",
            "value": round(len(messages) / warm_s),
            "unit": "msg/s",
            "target": "",
        },
        {
            "benchmark": "classifier",
            "metric": "per message p50",
            "value": round(statistics.median(per_message), 3),
            "unit": "ms",
            "target": "",
        },
        {
            "benchmark": "classifier",
            "metric": "per message p99",
            "value": round(percentile(per_message, 0.99), 3),
            "unit": "ms",
            "target": "",
        },
        {
            "benchmark": "classifier",
            "metric": "100 KB page p50 (extract + score)",
            "value": round(statistics.median(page_ms), 2),
            "unit": "ms",
            "target": "<= 5",
        },
        {
            "benchmark": "classifier",
            "metric": "100 KB page p50 (extract only)",
            "value": round(statistics.median(extract_ms), 2),
            "unit": "ms",
            "target": "",
        },
        {
            "benchmark": "classifier",
            "metric": "100 KB page p50 (score only)",
            "value": round(statistics.median(score_ms), 2),
            "unit": "ms",
            "target": "",
        },
        {
            "benchmark": "classifier",
            "metric": "model load",
            "value": round(load_s, 2),
            "unit": "s",
            "target": "",
        },
        {
            "benchmark": "classifier",
            "metric": "scoring process peak RSS (fresh process)",
            "value": round(scoring_process_rss()),
            "unit": "MB",
            "target": "<= 150",
        },
        {
            "benchmark": "classifier",
            "metric": "benchmark process peak RSS (with its data)",
            "value": round(peak_rss),
            "unit": "MB",
            "target": "",
        },
        {
            "benchmark": "classifier",
            "metric": "RSS before loading",
            "value": round(rss_before),
            "unit": "MB",
            "target": "",
        },
        {
            "benchmark": "classifier",
            "metric": "model file",
            "value": round(size_mb, 1),
            "unit": "MB",
            "target": "<= 30",
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages and pages")
    parser.add_argument("--json", action="store_true", help="print the figures as a JSON list")
    args = parser.parse_args()
    figures = run(args.quick)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"classifier benchmark on {Path(MODELS_DIR / ARTIFACT_NAME).name}")
    for f in figures:
        target = f"  (target {f['target']})" if f["target"] else ""
        print(f"  {f['metric']:38} {f['value']:>10} {f['unit']}{target}")


if __name__ == "__main__":
    main()
