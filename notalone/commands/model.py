"""``notalone train``, ``evaluate`` and ``score``: the classifier's command-line face."""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import click

from classifier.datasets import DEFAULT_SHARED_DATA

model_path_option = click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Model artifact to use (default: the shipped models/notalone-model.npz).",
)


# The training data options, declared once: `evaluate --held-out` must be given the slice `train` used.
shared_data_option = click.option(
    "--shared-data",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_SHARED_DATA,
    show_default=True,
    help="The public datasets folder (../shared/data beside the project).",
)
limit_per_source_option = click.option(
    "--limit-per-source",
    type=int,
    default=None,
    help="A small slice of each source (for quick checks and tests); evaluate with the slice trained on.",
)
chitchat_option = click.option(
    "--chitchat",
    "chitchat_conversations",
    type=int,
    default=3000,
    show_default=True,
    help="How many chitchat-dataset conversations to use as benign chat.",
)


def _shared_data_dir(shared_data: Path) -> Path:
    if not shared_data.is_dir():
        raise click.ClickException(f"no public datasets folder at {shared_data} (give --shared-data)")
    return shared_data


def _load_model(model_path: Path | None):
    from classifier.model import ModelLoadError, RiskModel

    try:
        return RiskModel.load(model_path)
    except ModelLoadError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@shared_data_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the artifact and model card (default: models/).",
)
@click.option(
    "--extra",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Extra labelled JSONL in the scoring contract's format, e.g. exported parent feedback.",
)
@limit_per_source_option
@chitchat_option
@click.option("--version", default=None, help="Version string for the model card (default: the date).")
@click.option(
    "--leave-one-out/--no-leave-one-out",
    default=True,
    show_default=True,
    help="Also refit without each real source and measure on it (the card's leave-one-source-out table).",
)
def train(
    shared_data: Path,
    out_dir: Path | None,
    extra: tuple[Path, ...],
    limit_per_source: int | None,
    chitchat_conversations: int,
    version: str | None,
    leave_one_out: bool,
) -> None:
    """Train the risk model on ../shared/data plus the project's corpus; write models/."""
    from classifier.contract import ContractError, examples_from_requests, read_requests
    from classifier.train import train as run_training

    _shared_data_dir(shared_data)
    extra_examples = []
    for path in extra:
        with open(path, encoding="utf-8") as fh:
            requests = []
            for lineno, item in read_requests(fh):
                if isinstance(item, ContractError):
                    raise click.ClickException(f"{path} line {lineno}: {item}")
                requests.append(item)
        try:
            extra_examples += examples_from_requests(requests, source=f"extra:{path.name}")
        except ContractError as exc:
            raise click.ClickException(f"{path}: {exc}") from exc
    started = time.perf_counter()

    def progress(message: str) -> None:
        click.echo(f"[{time.perf_counter() - started:6.1f}s] {message}", err=True)

    card = run_training(
        shared_data,
        out_dir,
        extra=extra_examples,
        limit_per_source=limit_per_source,
        chitchat_conversations=chitchat_conversations,
        version=version,
        progress=progress,
        leave_one_out=leave_one_out,
    )
    overall = card["metrics"]["overall"]
    for label in ("scam", "grooming"):
        if label in overall:
            m = overall[label]
            click.echo(
                f"{label:9} precision {m['precision']:.3f}  recall {m['recall']:.3f}  f1 {m['f1']:.3f}"
            )
    far = overall["benign_false_alerts"]
    click.echo(f"benign false-alert rate {far['rate']:.2%} ({far['false_alerts']}/{far['benign']})")


@click.command()
@click.option(
    "--input",
    "input_file",
    type=click.File("r", encoding="utf-8"),
    default="-",
    help="JSON Lines to score (default: standard input).",
)
@click.option(
    "--output",
    "output_file",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="Where to write one JSON line per input line (default: standard output).",
)
@model_path_option
def score(input_file, output_file, model_path: Path | None) -> None:
    """Score JSON Lines: {"id", "kind": "message"|"page"|"conversation", "text"|"html"|"messages"}.

    Each output line: {"id", "scam", "grooming", "alert", "severity", "evidence"}. A bad input line is
    reported on standard error with its line number, and the other lines are still scored.
    """
    from classifier.contract import score_stream

    model = _load_model(model_path)
    bad = score_stream(model, input_file, output_file, sys.stderr)
    output_file.flush()
    if bad:
        click.echo(f"{bad} line(s) could not be scored (see above)", err=True)


@click.command()
@click.option(
    "--data",
    "data_file",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help='Labelled JSON Lines: the score input plus "label" (and optionally "lang" and "source").',
)
@click.option(
    "--held-out",
    is_flag=True,
    help="Evaluate on the held-out (test) split of ../shared/data and the corpus, split exactly as "
    "training splits it: the model card's figures, per source.",
)
@shared_data_option
@limit_per_source_option
@chitchat_option
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@model_path_option
def evaluate(
    data_file,
    held_out: bool,
    shared_data: Path,
    limit_per_source: int | None,
    chitchat_conversations: int,
    as_json: bool,
    model_path: Path | None,
) -> None:
    """Precision, recall, F1 and PR-AUC per label, per language and per source, and the benign
    false-alert rate: on labelled JSON Lines (--data) or on the held-out splits (--held-out)."""
    from classifier.card_markdown import METRICS_HEADER, metric_rows

    if (data_file is None) == (not held_out):
        raise click.UsageError("give either --data FILE or --held-out")
    model = _load_model(model_path)
    if held_out:
        from classifier.train import evaluate_examples, held_out_examples  # scikit-learn: only when needed

        examples = held_out_examples(
            _shared_data_dir(shared_data),
            chitchat_conversations=chitchat_conversations,
            limit_per_source=limit_per_source,
        )
        result = {"model_version": model.version, **evaluate_examples(model, examples)}
    else:
        result = _labelled_file_figures(model, data_file)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"model {model.version}, {result['overall']['benign_false_alerts']['benign']} benign items\n")
    lines = [*METRICS_HEADER, *metric_rows("all", result["overall"])]
    for group in ("per_language", "per_source", "per_kind"):
        for name, figs in result.get(group, {}).items():
            lines += metric_rows(name, figs)
    if "hard_negatives" in result:
        lines += metric_rows("hard negatives", result["hard_negatives"])
    click.echo("\n".join(lines))


def _labelled_file_figures(model, data_file) -> dict:
    from classifier.contract import ContractError, read_requests, score_request
    from classifier.metrics import report

    rows: list[tuple[str, str | None, str | None, object]] = []
    for lineno, item in read_requests(data_file):
        if isinstance(item, ContractError):
            click.echo(f"line {lineno}: {item}", err=True)
            continue
        if item.label is None:
            click.echo(f"line {lineno}: no 'label', skipped", err=True)
            continue
        rows.append((item.label, item.lang, item.source, score_request(model, item)))
    if not rows:
        raise click.ClickException("no labelled lines to evaluate")

    def figures(subset):
        return report(
            [r[0] for r in subset],
            [r[3].alert for r in subset],
            {"scam": [r[3].scam for r in subset], "grooming": [r[3].grooming for r in subset]},
        )

    result = {"model_version": model.version, "overall": figures(rows)}
    for column, name in ((1, "per_language"), (2, "per_source")):
        groups: dict[str, list] = defaultdict(list)
        for row in rows:
            if row[column]:
                groups[row[column]].append(row)
        if groups:
            result[name] = {key: figures(subset) for key, subset in sorted(groups.items())}
    return result
