"""A readable summary of ``model-card.json`` (written beside it as ``model-card.md`` by training)."""

from __future__ import annotations

from typing import Any

METRICS_HEADER = [
    "| set | label | n | positives | precision | recall | F1 | PR-AUC / rate |",
    "|---|---|---|---|---|---|---|---|",
]


def metric_rows(name: str, figures: dict[str, Any]) -> list[str]:
    """Markdown table rows for one set's figures (see :data:`METRICS_HEADER`): each label, then the benign
    false-alert rate."""
    rows = []
    for label in ("scam", "grooming"):
        if label in figures:
            m = figures[label]
            pr_auc = f"{m['pr_auc']:.3f}" if "pr_auc" in m else "–"
            rows.append(
                f"| {name} | {label} | {m['n']} | {m['positives']} | {m['precision']:.3f} "
                f"| {m['recall']:.3f} | {m['f1']:.3f} | {pr_auc} |"
            )
    far = figures["benign_false_alerts"]
    if far["benign"]:
        rows.append(f"| {name} | benign false alerts | {far['benign']} | – | – | – | – | {far['rate']:.2%} |")
    return rows


def card_markdown(card: dict[str, Any]) -> str:
    """The model card as Markdown: what the model is, its data, thresholds and held-out figures."""
    metrics = card["metrics"]
    lines = [
        f"# {card['name']} — {card['version']}",
        "",
        f"Trained {card['date']} in {card['training_seconds']} s; artifact `{card['artifact']['file']}` "
        f"({card['artifact']['bytes'] / 1e6:.1f} MB, sha256 `{card['artifact']['sha256']}`). Generated from "
        "`model-card.json` by `make model`; the JSON is what the code checks.",
        "",
        "## Model",
        card["model"],
        "",
        "## Thresholds (chosen on validation data)",
        card["threshold_policy"] + ".",
        "",
        "| risk | alert | medium from | high from |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {risk} | {t['alert']} | {t['medium']} | {t['high']} |" for risk, t in card["thresholds"].items()
    ]
    lines += [
        "",
        "## Held-out test figures",
        "Rows per source and language; `n` counts examples, windows of a conversation included.",
        "",
        *METRICS_HEADER,
    ]
    lines += metric_rows("all", metrics["overall"])
    for group in ("per_language", "per_source", "per_kind"):
        for name, figures in metrics[group].items():
            lines += metric_rows(name, figures)
    if "hard_negatives" in metrics:
        lines += metric_rows("hard negatives", metrics["hard_negatives"])
    if timing := metrics.get("grooming_timing"):
        lines += [
            "",
            "## Grooming conversations replayed turn by turn (held-out)",
            f"- detected: {timing['detected']:.0%} of {timing['grooming_conversations']}",
            f"- median turns after the first grooming stage until the alert: "
            f"{timing['median_turns_after_first_stage']}",
            f"- alerted at or before the first staged turn: {timing['alerted_before_or_at_first_stage']:.0%}",
            f"- benign conversations that ever raised an alert: {timing['benign_conversations_alerted']:.0%} "
            f"of {timing['benign_conversations']}",
        ]
    lines += ["", "## Data", "", "| file | sha256 |", "|---|---|"]
    lines += [f"| `{d['path']}` | `{d['sha256'][:16]}…` |" for d in card["data"]]
    lines += ["", "## Limitations", *[f"- {item}" for item in card["limitations"]], ""]
    lines += ["## Libraries", ", ".join(f"{k} {v}" for k, v in card["libraries"].items()), ""]
    return "\n".join(lines)
