"""TF-IDF features at scoring time, computed the way the fitted scikit-learn vectorizers do, only faster.

scikit-learn's ``transform`` spends most of a page's scoring time in per-n-gram Python loops, and importing
it costs memory a small device does not have. Scoring needs no fitting, so :class:`FastTfidf` takes a fitted
vectorizer's vocabulary and idf (as stored in the plain artifact) and builds each row with list
comprehensions and numpy. ``tests/classifier/test_model.py`` checks that its rows
equal scikit-learn's.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise, repeat
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:  # scoring never imports scikit-learn; only training hands fitted vectorizers in
    from sklearn.feature_extraction.text import TfidfVectorizer


def char_wb_ngrams(text: str, min_n: int, max_n: int) -> list[str]:
    """Character n-grams inside word boundaries, exactly as scikit-learn's ``analyzer="char_wb"``: each
    word padded with one space on each side; a word no longer than ``n`` gives one n-gram, itself."""
    grams: list[str] = []
    for word in text.split():
        grams += word_char_ngrams(word, min_n, max_n)
    return grams


def word_char_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """The ``char_wb`` n-grams of one word (see :func:`char_wb_ngrams`)."""
    padded = f" {word} "
    length = len(padded)
    if length > max_n:  # the common case: every n fits, one comprehension
        return [padded[i : i + n] for n in range(min_n, max_n + 1) for i in range(length - n + 1)]
    grams: list[str] = []
    for n in range(min_n, max_n + 1):
        if length <= n:
            grams.append(padded)
            break
        grams += [padded[i : i + n] for i in range(length - n + 1)]
    return grams


def word_ngrams(pattern: re.Pattern[str], high: int) -> Callable[[str], list[str]]:
    """Word 1- (and 2-) grams exactly as scikit-learn's word analyzer (no lowercasing, no stop words)."""

    def analyze(text: str) -> list[str]:
        tokens = pattern.findall(text)
        if high == 2:
            return tokens + [f"{a} {b}" for a, b in pairwise(tokens)]
        return tokens

    return analyze


@dataclass(frozen=True)
class VectorizerSpec:
    """What a fitted ``TfidfVectorizer`` does, as plain data: the artifact stores this, not the object."""

    name: str
    analyzer: str  # "word" or "char_wb"
    ngram_range: tuple[int, int]
    token_pattern: str
    sublinear_tf: bool

    @classmethod
    def of(cls, name: str, vectorizer: TfidfVectorizer) -> VectorizerSpec:
        if vectorizer.lowercase or vectorizer.stop_words is not None or vectorizer.norm != "l2":
            raise ValueError(f"only l2-normalised, case-kept tf-idf without stop words: {vectorizer}")
        if vectorizer.analyzer not in ("word", "char_wb") or not vectorizer.use_idf:
            raise ValueError(f"unsupported analyzer {vectorizer.analyzer!r}")
        low, high = vectorizer.ngram_range
        if vectorizer.analyzer == "word" and (low, high) not in ((1, 1), (1, 2)):
            raise ValueError(f"word n-grams {vectorizer.ngram_range} are not supported")
        return cls(name, vectorizer.analyzer, (low, high), vectorizer.token_pattern, vectorizer.sublinear_tf)


# Words repeat across messages and within a page: a word's character n-gram columns are computed once and
# kept (as packed int32 bytes, a few hundred bytes a word) for this many distinct words per vectorizer.
WORD_CACHE_SIZE = 20_000
_INDEX = np.dtype(np.int32)
# Looking words up by id costs a dozen numpy calls whatever the batch: below this many characters (about
# 200 words), looking each 1- and 2-gram up on its own is faster.
INDEX_MIN_CHARS = 1000
INDEX_CHUNK = 8192
assert array("i").itemsize == _INDEX.itemsize


class WordIndex:
    """A word vectorizer's vocabulary as integer ids, so that a whole batch's words and word pairs are looked
    up with numpy rather than one string at a time: every word of the vocabulary's terms has an id, a
    1-gram's column is found by its id, a 2-gram's by its two ids (a sorted array of their keys)."""

    def __init__(
        self, ids: dict[str, int], word_ids: np.ndarray, spaces: np.ndarray, columns: np.ndarray
    ) -> None:
        """Terms as the ids of their words, all in a row (``ids``: each word's), how many spaces each term
        has (0 or 1) and each term's column."""
        self.ids = ids
        unknown = len(ids)  # the id of a word no term holds
        pair = spaces == 1
        starts = np.cumsum(spaces + 1) - (spaces + 1)
        first = word_ids[starts]
        self.unigram_columns = np.full(unknown + 1, -1, dtype=np.int64)
        self.unigram_columns[first[~pair]] = columns[~pair]
        keys = self._key(first[pair], word_ids[starts[pair] + 1])
        order = np.argsort(keys)
        self.pair_keys, self.pair_columns = keys[order], columns[pair][order]

    @classmethod
    def of(cls, vocabulary: dict[str, int]) -> WordIndex | None:
        """The index of a vocabulary of words and pairs of words joined by one space; None for another.

        String operations over many terms at once (a per-term loop took longer than loading the model), a
        few thousand terms at a time (all the words of all terms at once held 15 MB more at the peak).
        """
        terms = list(vocabulary)
        spaces = np.fromiter(map(str.count, terms, repeat(" ")), dtype=np.int64, count=len(terms))
        if (spaces > 1).any():
            return None
        ids: dict[str, int] = {}
        word_ids: list[np.ndarray] = []
        for start in range(0, len(terms), INDEX_CHUNK):
            joined = "\n".join(terms[start : start + INDEX_CHUNK])
            words = joined.replace(" ", "\n").split("\n")
            if "" in words or joined.count("\n") != len(terms[start : start + INDEX_CHUNK]) - 1:
                return None
            new = [word for word in dict.fromkeys(words) if word not in ids]
            ids.update(zip(new, range(len(ids), len(ids) + len(new)), strict=True))
            word_ids.append(np.fromiter(map(ids.__getitem__, words), dtype=np.int64, count=len(words)))
        columns = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(terms))
        return cls(ids, np.concatenate([np.empty(0, dtype=np.int64), *word_ids]), spaces, columns)

    def _key(self, first: np.ndarray | int, second: np.ndarray | int) -> np.ndarray | int:
        return first * (len(self.ids) + 1) + second

    def columns(self, tokens: list[str], rows: np.ndarray, pairs: bool) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary columns of ``tokens`` (each of text ``rows[i]``) and, if ``pairs``, of each two
        neighbouring tokens of one text; with the text each column is of."""
        unknown = len(self.ids)
        ids = np.fromiter(map(self.ids.get, tokens, repeat(unknown)), dtype=np.int64, count=len(tokens))
        columns = self.unigram_columns[ids]
        found = columns >= 0
        columns, column_rows = columns[found], rows[found]
        if not pairs or len(tokens) < 2 or not len(self.pair_keys):
            return columns, column_rows
        known = (ids[:-1] != unknown) & (ids[1:] != unknown) & (rows[:-1] == rows[1:])
        keys = self._key(ids[:-1][known], ids[1:][known])
        at = np.minimum(np.searchsorted(self.pair_keys, keys), len(self.pair_keys) - 1)
        hit = self.pair_keys[at] == keys
        pair_columns, pair_rows = self.pair_columns[at[hit]], rows[:-1][known][hit]
        return np.concatenate([columns, pair_columns]), np.concatenate([column_rows, pair_rows])


class FastTfidf:
    """Rows of a fitted tf-idf vectorizer (no lowercasing, no stop words, l2 norm, smooth idf), from its
    vocabulary and idf alone: no scikit-learn needed at scoring time."""

    def __init__(self, spec: VectorizerSpec, vocabulary: dict[str, int], idf: np.ndarray) -> None:
        self.spec = spec
        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float64)
        self.sublinear_tf = spec.sublinear_tf
        self.width = len(self.idf)
        self.dtype = np.float32
        low, high = spec.ngram_range
        if spec.analyzer == "char_wb":
            self.analyze: Callable[[str], list[str]] = lambda text: char_wb_ngrams(text, low, high)
            get = vocabulary.get

            def word_columns(word: str) -> bytes:
                found = [i for i in map(get, word_char_ngrams(word, low, high)) if i is not None]
                return array("i", found).tobytes()  # native int32, as _INDEX

            # Per instance, so that a cache never outlives (or mixes) vocabularies.
            self._word_columns: Callable[[str], bytes] | None = lru_cache(maxsize=WORD_CACHE_SIZE)(
                word_columns
            )
        else:
            # scikit-learn's default token pattern finds exactly what r"\w\w+" finds (a run of word characters
            # is always taken whole, so both boundaries hold), which is cheaper to search for.
            tokens = r"\w\w+" if spec.token_pattern == r"(?u)\b\w\w+\b" else spec.token_pattern
            self.analyze = word_ngrams(re.compile(tokens), high)
            self._word_columns = None
            self._tokens = re.compile(tokens)
            self._high = high
            self._index = WordIndex.of(vocabulary)

    @classmethod
    def from_vectorizer(cls, vectorizer: TfidfVectorizer, name: str = "") -> FastTfidf:
        return cls(VectorizerSpec.of(name, vectorizer), vectorizer.vocabulary_, vectorizer.idf_)

    def _found(self, texts: Sequence[str]) -> tuple[np.ndarray, list[int]]:
        """The vocabulary columns of every text's n-grams, one text after another (repeats kept), and how
        many each text has."""
        if self._word_columns is not None:
            packed = [b"".join(map(self._word_columns, text.split())) for text in texts]
            # A writable copy: a batch's columns are sorted in place.
            columns = np.frombuffer(bytearray(b"".join(packed)), dtype=_INDEX)
            return columns, [len(p) // _INDEX.itemsize for p in packed]
        if self._index is not None and sum(map(len, texts)) >= INDEX_MIN_CHARS:
            return self._found_by_index(texts)
        get = self.vocabulary.get
        found: list[int] = []
        lengths: list[int] = []
        for text in texts:
            before = len(found)
            found += [i for i in map(get, self.analyze(text)) if i is not None]
            lengths.append(len(found) - before)
        return np.array(found, dtype=_INDEX), lengths

    def _found_by_index(self, texts: Sequence[str]) -> tuple[np.ndarray, list[int]]:
        """:meth:`_found` of a word vectorizer: every text's tokens found, then looked up all at once."""
        assert self._index is not None
        tokens: list[str] = []
        counts: list[int] = []
        for text in texts:
            found = self._tokens.findall(text)
            tokens += found
            counts.append(len(found))
        rows = np.repeat(np.arange(len(texts)), counts)
        columns, column_rows = self._index.columns(tokens, rows, self._high == 2)
        order = np.argsort(column_rows, kind="stable")
        lengths = np.bincount(column_rows, minlength=len(texts)).tolist()
        return columns[order].astype(_INDEX), lengths

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """One text's row: its columns (ascending) and their tf-idf values, as ``transform`` gives them."""
        found, _ = self._found([text])
        if not len(found):
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=self.dtype)
        columns, counts = np.unique(found, return_counts=True)
        tf = counts.astype(np.float64)
        if self.sublinear_tf:
            tf = np.log(tf) + 1.0
        values = tf * self.idf[columns]
        values /= np.sqrt(np.dot(values, values))
        return columns, values.astype(self.dtype)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        if len(texts) == 1:
            columns, values = self.row(texts[0])
            return sp.csr_matrix(
                (values, columns, np.array([0, len(columns)])), shape=(1, self.width), dtype=self.dtype
            )
        # A batch: every row's n-gram columns at once, counted, weighted and normalised with numpy.
        columns, lengths = self._found(texts)
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        counts = sp.csr_matrix((np.ones(len(columns)), columns, indptr), shape=(len(texts), self.width))
        counts.sum_duplicates()
        data = counts.data
        if self.sublinear_tf:
            data = np.log(data) + 1.0
        data = data * self.idf[counts.indices]
        lengths = np.diff(counts.indptr)
        squares = np.bincount(np.repeat(np.arange(len(texts)), lengths), data * data, minlength=len(texts))
        norms = np.where(lengths > 0, np.sqrt(squares), 1.0)
        data /= np.repeat(norms, lengths)
        return sp.csr_matrix((data.astype(self.dtype), counts.indices, counts.indptr), shape=counts.shape)
