"""Children's and teenagers' own chat lines from public repositories' git snapshots (read at train time).

They teach the grooming side what ordinary young people's short lines look like ("what do u want", "i love ur
fit"), which read like offenders' informal chat to a model that learned informal chat mostly from offenders.
Nobody labelled them: the logs of unmoderated game hangouts hold trade talk and scam bait among the ordinary
lines, so they are benign for the grooming classifier only and never teach the scam classifier either way.
Read through :mod:`classifier.snapshots`; nothing of them is committed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from classifier.snapshots import SnapshotSource, read_file

# An example source that starts with this teaches the grooming classifier only (see classifier.train).
SOURCE_PREFIX = "kids-chat:"
MIN_WORDS = 3  # shorter lines ("lol", "ok bye") say nothing either way


@dataclass(frozen=True)
class FetchedChatSource(SnapshotSource):
    """One repository's chat lines (``form``: "roblox-chat-log" or "reddit-titles-csv")."""

    per_source: int = 2000

    @property
    def example_source(self) -> str:
        return f"{SOURCE_PREFIX}{self.name}"


FETCHED_CHAT_SOURCES: tuple[FetchedChatSource, ...] = (
    # Chat logged in public Roblox "hangout" servers (2025): players' lines with their @names.
    FetchedChatSource(
        "roblox-hangouts", "0ysterAreGod/Roblox_Chat_Logs", r"^Log_[^/]+\.txt$", "roblox-chat-log"
    ),
    # Post titles of r/teenagers (Reddit's community for 13-19 year olds).
    FetchedChatSource(
        "r-teenagers", "kulkarohan/reddit-recommender", r"^data/teenagers\.csv$", "reddit-titles-csv"
    ),
)


@dataclass(frozen=True)
class ChatLine:
    text: str
    group: str  # what keeps related lines on one side of the split: one player's lines, one post


_ROBLOX_LINE = re.compile(r"^\[[\d:]+\] (?:\[[^\]]*\] )*.*? \(@(\w+)\): (.*)$")
_COMMAND = re.compile(r"^[;/:!]")


def read_lines(source: FetchedChatSource, root: Path | None = None) -> Iterator[ChatLine]:
    """Every usable line of a source's snapshot, in file order; none when the snapshot is not here."""
    for path in source.paths(root):
        blob = read_file(source.repository, path, root)
        if blob is None:
            continue
        text = blob.decode("utf-8", "replace")
        if source.form == "roblox-chat-log":
            for line in text.splitlines():
                found = _ROBLOX_LINE.match(line.strip())
                if found and not _COMMAND.match(found.group(2)):
                    yield ChatLine(found.group(2).strip(), f"{source.repository}:@{found.group(1).lower()}")
        elif source.form == "reddit-titles-csv":
            for row in csv.DictReader(io.StringIO(text)):
                if row.get("title") and row.get("post_id"):
                    yield ChatLine(row["title"].strip(), f"{source.repository}:{row['post_id']}")


def usable_lines(source: FetchedChatSource, root: Path | None = None) -> list[ChatLine]:
    """A source's lines of at least :data:`MIN_WORDS` words, each text once (case-folded), in file order."""
    seen: set[str] = set()
    lines = []
    for line in read_lines(source, root):
        key = line.text.casefold()
        if len(line.text.split()) >= MIN_WORDS and key not in seen:
            seen.add(key)
            lines.append(line)
    return lines
