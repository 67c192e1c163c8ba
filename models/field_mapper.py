"""The field mapper: a trained classifier from a noisy label to its canonical concept.

A concept is a row label, a column header or a section heading of the report
template (``row:s3.granted``, ``col:s3.total``, ``sec:s4``) or ``none``.  The
estimator follows scikit-learn's contract: keyword parameters only, no work in
``__init__``, learned state in attributes ending in ``_``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence

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


def jieba_tokens(text: str) -> list[str]:
    """Word tokens of a normalized label (jieba's precise mode, no HMM: labels are short and formal)."""
    return [t for t in jieba.lcut(text, HMM=False) if t.strip()]


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

    def _features(self) -> FeatureUnion:
        return FeatureUnion(
            [
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char", ngram_range=self.char_ngram_range, sublinear_tf=self.sublinear_tf
                    ),
                ),
                ("words", TfidfVectorizer(analyzer=jieba_tokens, sublinear_tf=self.sublinear_tf)),
            ],
            transformer_weights={"chars": 1.0, "words": self.word_weight},
        )

    def fit(self, X: Sequence[str], y: Sequence[str]) -> FieldMapper:
        texts = [normalize_label(x) for x in X]
        self.features_ = self._features().fit(texts)
        self.classifier_ = LogisticRegression(C=self.C, max_iter=self.max_iter)
        self.classifier_.fit(self.features_.transform(texts), np.asarray(y))
        self.classes_ = self.classifier_.classes_
        return self

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        check_is_fitted(self, "classifier_")
        return self.classifier_.predict_proba(self.features_.transform([normalize_label(x) for x in X]))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
