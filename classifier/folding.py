"""Unicode folding shared by normalisation and corpus checks: NFKC, case folding, no diacritics."""

from __future__ import annotations

import unicodedata

# "đ" has no combining-mark decomposition, so NFKD alone leaves it in place.
_EXTRA_FOLDS = str.maketrans({"đ": "d", "Đ": "d", "ð": "d"})


def fold_case(text: str) -> str:
    """NFKC-normalise and case-fold, keeping diacritics."""
    return unicodedata.normalize("NFKC", text).casefold()


def strip_diacritics(text: str) -> str:
    """Remove combining marks so that "không", "khong" and "KHÔNG" compare alike after case folding."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_EXTRA_FOLDS))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def fold(text: str) -> str:
    """Case-fold and strip diacritics: the form used for matching English and Vietnamese alike."""
    return strip_diacritics(fold_case(text))
