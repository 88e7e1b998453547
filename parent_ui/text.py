"""Showing text that came through the proxy: escaped piece by piece, driving terms marked, bidi tricks shown.

Nothing here marks proxied text safe: every piece goes through :func:`markupsafe.escape`, and only our own
``<mark>`` tags are added around pieces that were escaped first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from markupsafe import Markup, escape

# Direction overrides and isolates can make "gpj.exe" read as "exe.jpg"; show them instead of obeying them.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def reveal_controls(text: str) -> str:
    """Replace invisible direction controls with a visible ``[U+202E]`` marker."""
    return BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def _fold_char(ch: str) -> str:
    folded = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
    return folded.replace("đ", "d").replace("Đ", "D").casefold()


def _folded_with_index(text: str) -> tuple[str, list[int]]:
    """``text`` without accents, case-folded, and for each folded character the index it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for c in _fold_char(ch):
            chars.append(c)
            origin.append(i)
    return "".join(chars), origin


def highlight(text: str, terms: Iterable[str]) -> Markup:
    """``text`` escaped, with each occurrence of a term wrapped in ``<mark>``.

    Matching ignores case and Vietnamese accents, since the model's evidence may be in folded form.
    """
    text = reveal_controls(text)
    needles = sorted({f for t in terms if (f := "".join(map(_fold_char, t.strip())))}, key=len, reverse=True)
    if not needles:
        return escape(text)
    folded, origin = _folded_with_index(text)
    pattern = re.compile("|".join(re.escape(n) for n in needles))
    pieces: list[Markup] = []
    pos = 0
    for match in pattern.finditer(folded):
        start, end = origin[match.start()], origin[match.end() - 1] + 1
        if start < pos:
            continue
        pieces.append(escape(text[pos:start]))
        pieces.append(Markup("<mark>{}</mark>").format(text[start:end]))
        pos = end
    pieces.append(escape(text[pos:]))
    return Markup("").join(pieces)
