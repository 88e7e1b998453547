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
    if real := metrics.get("real_conversations"):
        lines += [
            "",
            "## Real chats replayed turn by turn (held-out Perverted-Justice chats, chitchat)",
            f"- offenders' sides: {real['offender_recall']:.1%} of {real['offender_chats']} alerted; "
            "the alert "
            f"a median of {real['median_turns_after_risk_start']} of the offender's turns after the risk "
            f"starts; {real['alerted_at_or_before_risk_start']:.0%} of alerts at or before that turn",
            f"- decoy sides (what a child's side looks like) scored as if a counterpart had written them: "
            f"{real['decoy_sides_alerted']:.1%} of {real['decoy_sides']} ever alerted (a child's side of an "
            "explicit chat echoes it); as the child's own turns they never count",
            f"- ordinary chitchat conversations: {real['chitchat_alerted']:.1%} of "
            f"{real['chitchat_conversations']} ever alerted",
        ]
        if "pieces" in real:
            lines.append(
                f"- the offenders' chats cut into pieces of {real['piece_messages']} messages, both sides, "
                f"nobody marked as the child (as a detector that joins a chat late sees it): "
                f"{real['pieces_alerted']:.1%} of {real['pieces']} pieces alerted, small talk before the "
                "risk included"
            )
    if loso := metrics.get("leave_one_source_out"):
        lines += [
            "",
            "## Leave one source out",
            "Each real source's risk refitted without that source, measured on its held-out split: how the "
            "model does on text it has not seen the like of.",
            "",
            *METRICS_HEADER,
        ]
        for name, figures in loso.items():
            lines += metric_rows(f"without {name}", figures)
    if kinds := metrics.get("scam_kinds"):
        lines += [
            "",
            "## Scam kinds (held-out scams with a known kind)",
            "",
            "| kind | n | right |",
            "|---|---|---|",
        ]
        lines += [f"| {k} | {v['n']} | {v['accuracy']:.1%} |" for k, v in kinds.items()]
    if calibration := metrics.get("calibration"):
        lines += ["", "## Calibration (held-out split)", "", "| risk | bin | n | mean predicted | observed |"]
        lines += ["|---|---|---|---|---|"]
        for risk, rows in calibration.items():
            lines += [
                f"| {risk} | {r['bin']} | {r['n']} | {r['mean_predicted']:.3f} | {r['observed']:.3f} |"
                for r in rows
            ]
    if parity := card.get("parity"):
        lines += [
            "",
            "## Scorer parity",
            f"The plain scorer (numpy arrays and JSON, no scikit-learn) against the trained pipeline on "
            f"{parity['texts']} held-out texts: largest feature difference "
            f"{parity['max_feature_difference']:.1e}, "
            f"scam {parity['max_scam_difference']:.1e}, grooming {parity['max_grooming_difference']:.1e}, "
            f"stages {parity.get('max_stage_difference', 0):.1e}, kind disagreements "
            f"{parity.get('kind_disagreements', 0)}.",
        ]
    lines += ["", "## Data", "", "| file | sha256 |", "|---|---|"]
    lines += [f"| `{d['path']}` | `{d['sha256'][:16]}…` |" for d in card["data"]]
    if card.get("snapshots"):
        lines += [
            "",
            "Real ordinary and phishing pages, and children's own chat lines, from public repositories'"
            " snapshots (fetched, not committed):",
            "",
            "| source | repository | files | commit |",
            "|---|---|---|---|",
        ]
        for snapshot in card["snapshots"]:
            paths = snapshot["paths"].replace("|", "\\|")  # a regex's alternatives, inside a table cell
            lines.append(
                f"| {snapshot['source']} | github.com/{snapshot['repository']} | `{paths}` "
                f"| `{snapshot['commit'][:12]}` |"
            )
    lines += ["", "## Limitations", *[f"- {item}" for item in card["limitations"]], ""]
    lines += ["## Libraries", ", ".join(f"{k} {v}" for k, v in card["libraries"].items()), ""]
    return "\n".join(lines)
