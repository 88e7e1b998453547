"""Guidance for a parent whose child asked for help: per topic of the help page, or from a warning page."""

from __future__ import annotations

import pytest

from alert_store import Alert
from parent_ui.guidance import HELP_TOPIC_STEPS, TALKING_POINTS, TOLD_FROM_WARNING, explain
from parent_ui.translations_vi import VI


def help_alert(**fields: object) -> Alert:
    return Alert(
        child="An", category="help", severity="high", probability=1.0, snippet="", source="child", **fields
    )


@pytest.mark.parametrize("topic", sorted(HELP_TOPIC_STEPS))
def test_each_help_topic_adds_its_own_steps(topic: str) -> None:
    points = explain(help_alert(terms=(topic,))).talking_points
    assert points[: len(TALKING_POINTS["help"])] == TALKING_POINTS["help"]
    assert points[len(TALKING_POINTS["help"]) :] == HELP_TOPIC_STEPS[topic]


def test_tell_my_parent_from_a_warning_page_explains_the_page() -> None:
    points = explain(help_alert(url="https://games.example/robux", terms=("free robux",))).talking_points
    assert points[-len(TOLD_FROM_WARNING) :] == TOLD_FROM_WARNING


def test_every_new_guidance_line_has_a_vietnamese_text() -> None:
    lines = [line for steps in HELP_TOPIC_STEPS.values() for line in steps] + list(TOLD_FROM_WARNING)
    assert [line for line in lines if line not in VI] == []
