"""TF-IDF features at scoring time, computed the way the fitted scikit-learn vectorizers do, only faster.

scikit-learn's ``transform`` spends most of a page's scoring time in per-n-gram Python loops. Scoring needs
no fitting, so :class:`FastTfidf` reads a fitted ``TfidfVectorizer``'s vocabulary and idf once and then
builds each row with list comprehensions and numpy. ``tests/classifier/test_model.py`` checks that its rows
equal scikit-learn's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer


def char_wb_ngrams(text: str, min_n: int, max_n: int) -> list[str]:
    """Character n-grams inside word boundaries, exactly as scikit-learn's ``analyzer="char_wb"``: each
    word padded with one space on each side; a word no longer than ``n`` gives one n-gram, itself."""
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        length = len(padded)
        for n in range(min_n, max_n + 1):
            if length <= n:
                grams.append(padded)
                break
            grams += [padded[i : i + n] for i in range(length - n + 1)]
    return grams


def _word_analyzer(vectorizer: TfidfVectorizer) -> Callable[[str], list[str]]:
    pattern = re.compile(vectorizer.token_pattern)
    low, high = vectorizer.ngram_range
    if (low, high) not in ((1, 1), (1, 2)):
        return vectorizer.build_analyzer()

    def analyze(text: str) -> list[str]:
        tokens = pattern.findall(text)
        if high == 2:
            return tokens + [f"{a} {b}" for a, b in pairwise(tokens)]
        return tokens

    return analyze


class FastTfidf:
    """Rows of a fitted ``TfidfVectorizer`` (no lowercasing, no stop words, l2 norm, smooth idf)."""

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.sublinear_tf = vectorizer.sublinear_tf
        self.width = len(self.idf)
        self.dtype = vectorizer.dtype
        if vectorizer.analyzer == "char_wb" and not vectorizer.lowercase:
            low, high = vectorizer.ngram_range
            self.analyze: Callable[[str], list[str]] = lambda text: char_wb_ngrams(text, low, high)
        elif vectorizer.analyzer == "word" and not vectorizer.lowercase and vectorizer.stop_words is None:
            self.analyze = _word_analyzer(vectorizer)
        else:
            self.analyze = vectorizer.build_analyzer()
        if vectorizer.norm != "l2" or not vectorizer.use_idf:
            raise ValueError(f"FastTfidf supports l2-normalised tf-idf only, not {vectorizer!r}")

    def _row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        get = self.vocabulary.get
        found = [i for i in map(get, self.analyze(text)) if i is not None]
        if not found:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=self.dtype)
        columns, counts = np.unique(np.asarray(found, dtype=np.int32), return_counts=True)
        tf = counts.astype(np.float64)
        if self.sublinear_tf:
            tf = np.log(tf) + 1.0
        values = tf * self.idf[columns]
        values /= np.sqrt(np.dot(values, values))
        return columns, values.astype(self.dtype)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        rows = [self._row(text) for text in texts]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(columns) for columns, _ in rows])
        indices = np.concatenate([columns for columns, _ in rows]) if rows else np.empty(0, np.int32)
        data = np.concatenate([values for _, values in rows]) if rows else np.empty(0, self.dtype)
        return sp.csr_matrix((data, indices, indptr), shape=(len(rows), self.width))
