"""Public repositories' git snapshots on this machine, read at train time (never at run time).

The search tool's ``fetch`` lays each one out as ``/work/.mirror/<owner>+<name>/repo``, a bare git directory
(or ``repo/.git``); ``NOTALONE_PAGE_MIRROR`` points elsewhere, and ``git clone --bare`` makes the same
layout. Nothing of them is committed: a machine without a snapshot trains without it, and the model card
names the commit of each one it read.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MIRROR = Path("/work/.mirror")


@dataclass(frozen=True)
class SnapshotSource:
    """What training reads from one repository's snapshot: which files (a regex on the path), stored in
    what form, and how many to read at most. Each kind of source says which examples it makes."""

    name: str
    repository: str
    path_pattern: str
    form: str
    per_source: int = 300

    @property
    def example_source(self) -> str:
        """The source its examples carry (the card's per-source rows, leave-one-source-out)."""
        raise NotImplementedError

    def paths(self, root: Path | None = None) -> list[str]:
        """The paths of its files in the snapshot, sorted; empty when the snapshot is not here."""
        return matching_paths(self.repository, self.path_pattern, root)


def mirror_root() -> Path:
    return Path(os.environ.get("NOTALONE_PAGE_MIRROR", DEFAULT_MIRROR))


def snapshot_dir(repository: str, root: Path | None = None) -> Path:
    """The snapshot's git directory (``repo``, or ``repo/.git`` where the snapshot kept a work tree's)."""
    repo = (root or mirror_root()) / repository.replace("/", "+") / "repo"
    return repo / ".git" if (repo / ".git").is_dir() else repo


def snapshot_commit(repository: str, root: Path | None = None) -> str | None:
    """The commit a snapshot's HEAD is at, or None when the snapshot is not on this machine."""
    git_dir = snapshot_dir(repository, root)
    if not git_dir.is_dir():
        return None
    result = _git(git_dir, "rev-parse", "HEAD")
    return result.decode().strip() if result is not None else None


# macOS's archive litter: a ``__MACOSX/`` folder of ``._<name>`` AppleDouble files (a file's Finder metadata
# in binary, named like the file it belongs to). Never a page or a chat log, whatever its name ends with.
_MACOS_LITTER = re.compile(r"(?:^|/)(?:__MACOSX/|\._)")


def matching_paths(repository: str, path_pattern: str, root: Path | None = None) -> list[str]:
    """The paths in a snapshot's HEAD that ``path_pattern`` matches (macOS's archive litter left out),
    sorted; empty when the snapshot is not here."""
    git_dir = snapshot_dir(repository, root)
    listing = _git(git_dir, "ls-tree", "-r", "-z", "--name-only", "HEAD") if git_dir.is_dir() else None
    if listing is None:
        return []
    pattern = re.compile(path_pattern)
    return sorted(
        p
        for p in listing.decode("utf-8", "replace").split("\0")
        if pattern.match(p) and not _MACOS_LITTER.search(p)
    )


def read_file(repository: str, path: str, root: Path | None = None) -> bytes | None:
    """One file of a snapshot's HEAD, or None when it cannot be read."""
    return _git(snapshot_dir(repository, root), "show", f"HEAD:{path}")


def _git(git_dir: Path, *args: str) -> bytes | None:
    try:
        result = subprocess.run(
            ["git", f"--git-dir={git_dir}", *args], capture_output=True, check=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout
