"""The field mapper: a trained classifier from a noisy label to its canonical concept.

A concept is a row label, a column header or a section heading of the report
template (``row:s3.granted``, ``col:s3.total``, ``sec:s4``) or ``none``.  The
estimator follows scikit-learn's contract: keyword parameters only, no work in
``__init__``, learned state in attributes ending in ``_``.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from importlib.resources import files

import jieba
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.utils.validation import check_is_fitted

jieba.setLogLevel(logging.WARNING)

_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "、": ",", "，": ","})


def normalize_label(text: str) -> str:
    """One spelling for what is one label: NFKC (full-width → half-width), no spaces, one quote style."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).translate(_QUOTES).lower()


class LabelSegmenter:
    """jieba's precise segmentation (no HMM: labels are short and formal) over the part of its dictionary
    that labels written in a known set of characters can use.

    jieba's whole dictionary costs a worker about 60 MB; the words made only of the characters the mapper
    was trained on are about 5 % of it. With jieba's total frequency kept, a label in those characters
    is cut exactly as the whole dictionary would cut it; a label with other characters differs only
    around them, and a word holding such a character is none of the mapper's features anyway.
    """

    def __init__(self, words: dict[str, int], total: int) -> None:
        self.words = words
        self.total = total

    @classmethod
    def for_texts(cls, texts: Iterable[str]) -> LabelSegmenter:
        """The segmenter for labels written in the characters of ``texts``."""
        known = set("".join(texts))
        words, total = {}, 0
        for line in files("jieba").joinpath("dict.txt").read_text("utf-8").splitlines():
            word, freq = line.split(" ")[:2]
            total += int(freq)
            if known.issuperset(word):
                words[word] = int(freq)
        return cls(words, total)

    def __call__(self, text: str) -> list[str]:
        return [t for t in self._tokenizer().lcut(text, HMM=False) if t.strip()]

    def _tokenizer(self) -> jieba.Tokenizer:
        if getattr(self, "tokenizer", None) is None:
            lines = "".join(f"{w} {f}\n" for w, f in self.words.items()).encode("utf-8")
            self.tokenizer = jieba.Tokenizer()
            self.tokenizer.FREQ, _ = jieba.Tokenizer.gen_pfdict(io.BytesIO(lines))
            self.tokenizer.total, self.tokenizer.initialized = self.total, True
        return self.tokenizer

    def __getstate__(self) -> dict:
        return {"words": self.words, "total": self.total}  # the tokenizer is rebuilt on first use


class FieldMapper(ClassifierMixin, BaseEstimator):
    """Character n-gram and jieba-word TF-IDF features, multinomial logistic regression.

    Character n-grams carry OCR-damaged and truncated labels; jieba words carry
    reordered and paraphrased ones.
    """

    def __init__(
        self,
        *,
        char_ngram_range: tuple[int, int] = (1, 3),
        word_weight: float = 0.6,
        sublinear_tf: bool = True,
        C: float = 20.0,
        max_iter: int = 3000,
    ) -> None:
        self.char_ngram_range = char_ngram_range
        self.word_weight = word_weight
        self.sublinear_tf = sublinear_tf
        self.C = C
        self.max_iter = max_iter

    def _features(self, segmenter: LabelSegmenter) -> FeatureUnion:
        return FeatureUnion(
            [
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char", ngram_range=self.char_ngram_range, sublinear_tf=self.sublinear_tf
                    ),
                ),
                ("words", TfidfVectorizer(analyzer=segmenter, sublinear_tf=self.sublinear_tf)),
            ],
            transformer_weights={"chars": 1.0, "words": self.word_weight},
        )

    def fit(self, X: Sequence[str], y: Sequence[str]) -> FieldMapper:
        texts = [normalize_label(x) for x in X]
        self.features_ = self._features(LabelSegmenter.for_texts(texts)).fit(texts)
        self.classifier_ = LogisticRegression(C=self.C, max_iter=self.max_iter)
        self.classifier_.fit(self.features_.transform(texts), np.asarray(y))
        self.classes_ = self.classifier_.classes_
        return self

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        check_is_fitted(self, "classifier_")
        return self.classifier_.predict_proba(self.features_.transform([normalize_label(x) for x in X]))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
