"""The scoring contract of `notalone score` and `notalone evaluate`, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from notalone.cli import main

KEYS = {"id", "scam", "grooming", "alert", "severity", "evidence"}

GOOD = [
    {
        "id": "m1",
        "kind": "message",
        "text": "FREE ROBUX!! log in with your Roblox password at robux-claim.xyz to get 10000 robux now",
    },
    {"id": "m2", "kind": "message", "text": "mai nhớ mang vở toán với thước kẻ nha, cô kiểm tra đó"},
    {
        "id": "p1",
        "kind": "page",
        "html": "<title>Nhận kim cương miễn phí</title><h1>Nhận 9999 kim cương Free Fire</h1>"
        "<p>Đăng nhập tài khoản Garena và nhập mã OTP để nhận quà ngay</p>",
    },
    {
        "id": "c1",
        "kind": "conversation",
        "messages": [
            {"from": "max", "text": "ur really good at fortnite"},
            {"from": "kid", "text": "thx"},
            {"from": "max", "text": "how old r u?"},
            {"from": "kid", "text": "12"},
            {"from": "max", "text": "ur so mature for 12, i can send u vbucks if u want"},
            {"from": "max", "text": "dont tell ur parents ok? they wouldnt get it. add me on snap"},
            {"from": "max", "text": "send me a selfie so i know its really u"},
        ],
    },
]


def run_score(lines: list[str]):
    return CliRunner().invoke(main, ["score"], input="\n".join(lines) + "\n")


def test_every_line_gets_the_contract_fields_in_order():
    result = run_score([json.dumps(x) for x in GOOD])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["m1", "m2", "p1", "c1"]
    for o in out:
        assert set(o) == KEYS
        assert 0.0 <= o["scam"] <= 1.0 and 0.0 <= o["grooming"] <= 1.0
        assert o["alert"] in (None, "scam", "grooming")
        assert (o["alert"] is None) == (o["severity"] is None)
    assert out[0]["alert"] == "scam" and out[0]["evidence"]
    assert out[1]["alert"] is None
    assert out[2]["alert"] == "scam"
    assert out[3]["alert"] == "grooming"


def test_bad_lines_are_named_on_stderr_and_the_rest_still_scored():
    lines = [
        json.dumps(GOOD[0]),
        "{not json",
        json.dumps({"id": "x", "kind": "video", "text": "hi"}),
        json.dumps({"id": "y", "kind": "message"}),
        json.dumps([1, 2]),
        json.dumps(GOOD[1]),
    ]
    result = run_score(lines)
    assert result.exit_code == 0
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["m1", "m2"]
    for lineno in (2, 3, 4, 5):
        assert f"line {lineno}:" in result.stderr
    assert "kind must be one of" in result.stderr


def test_files_in_and_out(tmp_path):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in GOOD) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["score", "--input", str(src), "--output", str(dst)])
    assert result.exit_code == 0
    assert len(dst.read_text(encoding="utf-8").splitlines()) == len(GOOD)


def test_python_dash_m_runs_the_same_cli():
    proc = subprocess.run(
        [sys.executable, "-m", "notalone", "score"],
        input=json.dumps(GOOD[1]) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(proc.stdout)["id"] == "m2"


def test_evaluate_prints_figures_per_label_and_language(tmp_path):
    data = tmp_path / "labelled.jsonl"
    rows = [
        dict(GOOD[0], label="scam", lang="en", source="written"),
        dict(GOOD[1], label="benign", lang="vi", source="sms"),
        dict(GOOD[2], label="scam", lang="vi", source="sms"),
        dict(GOOD[3], label="grooming", lang="en"),
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    result = CliRunner().invoke(main, ["evaluate", "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["overall"]["scam"]["recall"] == 1.0
    assert figures["overall"]["grooming"]["recall"] == 1.0
    assert figures["overall"]["benign_false_alerts"]["rate"] == 0.0
    assert set(figures["per_language"]) == {"en", "vi"}
    assert set(figures["per_source"]) == {"written", "sms"}
    assert figures["per_source"]["sms"]["scam"]["n"] == 2
    assert "pr_auc" in figures["overall"]["scam"]
    table = CliRunner().invoke(main, ["evaluate", "--data", str(data)])
    assert "| precision |" in table.stdout
    assert "| all | benign false alerts |" in table.stdout
    assert "| en | scam |" in table.stdout and "| vi | scam |" in table.stdout
    assert "| sms | benign false alerts |" in table.stdout


def test_evaluate_takes_a_file_or_the_held_out_splits_not_both(tmp_path):
    data = tmp_path / "labelled.jsonl"
    data.write_text(json.dumps(dict(GOOD[0], label="scam")), encoding="utf-8")
    both = CliRunner().invoke(main, ["evaluate", "--data", str(data), "--held-out"])
    neither = CliRunner().invoke(main, ["evaluate"])
    assert both.exit_code == neither.exit_code == 2
    assert "either --data FILE or --held-out" in neither.output
    missing = CliRunner().invoke(main, ["evaluate", "--held-out", "--shared-data", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "no public datasets folder" in missing.output


@pytest.mark.parametrize("bad", ['{"id": 1, "kind": "message", "text": "x", "label": "spam"}', "[]"])
def test_evaluate_reports_bad_lines(tmp_path, bad):
    data = tmp_path / "d.jsonl"
    data.write_text(bad + "\n" + json.dumps(dict(GOOD[1], label="benign")) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["evaluate", "--data", str(data)])
    assert result.exit_code == 0
    assert "line 1:" in result.stderr
