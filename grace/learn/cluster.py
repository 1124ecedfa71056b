"""Lexical grouping of customers' words: character n-grams, so typos and Pidgin spellings still meet.

"abeg how much be dis lace" and "abeg how much is this lace" share most of their 2-4 letter
pieces while sharing few whole words; TF-IDF over those pieces with cosine similarity, grouped by
average-linkage agglomerative clustering under a distance threshold (no number of clusters to
guess). Everything is deterministic: same log, same clusters, same order.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

# Cosine distance under which two groups merge (average linkage). 0.6 keeps rephrasings and misspellings
# of one question together and different questions about the same fabric apart (tests/test_learn.py).
MERGE_DISTANCE = 0.6
# Agglomerative clustering holds every pair's distance (n^2 floats): past this many distinct wordings only
# the most often said are grouped (the log keeps the rest; the review says how many turns it covers).
MAX_TEXTS = 3000
_SPACES = re.compile(r"\s+")
_LONG_NUMBER = re.compile(r"\d{7,}")  # phone and account numbers never go into suggestions


def normal(text: str) -> str:
    """The form two messages are the same in: lower case, single spaces, no long numbers."""
    return _LONG_NUMBER.sub(lambda m: "0" * len(m.group()), _SPACES.sub(" ", text.strip().lower()))


@dataclass
class Cluster:
    members: list[int]  # indices into the texts clustered, most representative first
    centroid: np.ndarray = field(repr=False)


class Space:
    """A TF-IDF space fitted on every text that will be compared (log and training examples)."""

    def __init__(self, corpus: list[str]) -> None:
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
        self.vectorizer.fit([normal(t) for t in corpus] or [""])

    def vectors(self, texts: list[str]):
        return normalize(self.vectorizer.transform([normal(t) for t in texts]))


def cluster(space: Space, texts: list[str], weights: list[int] | None = None,
            merge_distance: float = MERGE_DISTANCE) -> list[Cluster]:
    """Groups of similar texts, biggest (by weight) first; each group's medoid first in its members."""
    if not texts:
        return []
    weights = weights or [1] * len(texts)
    kept = sorted(range(len(texts)), key=lambda i: (-weights[i], texts[i]))[:MAX_TEXTS]
    vectors = space.vectors([texts[i] for i in kept])
    if len(kept) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        labels = AgglomerativeClustering(n_clusters=None, affinity="cosine", linkage="average",
                                         distance_threshold=merge_distance).fit_predict(vectors.toarray())
    clusters = []
    for label in sorted(set(labels.tolist())):
        rows = [k for k in range(len(kept)) if labels[k] == label]
        members = [kept[k] for k in rows]
        block = vectors[rows]
        similarity = (block @ block.T).toarray()
        # the medoid: closest to the others, weighted by how often each text was said
        member_weights = np.array([weights[i] for i in members], dtype=float)
        centrality = similarity @ member_weights
        order = sorted(range(len(members)), key=lambda k: (-centrality[k], -weights[members[k]], texts[members[k]]))
        centroid = normalize(np.asarray(block.multiply(member_weights[:, None]).sum(axis=0)))[0]
        clusters.append(Cluster([members[k] for k in order], centroid))
    clusters.sort(key=lambda c: (-sum(weights[i] for i in c.members), texts[c.members[0]]))
    return clusters


@dataclass(frozen=True)
class Nearest:
    intent: str
    example: str
    similarity: float


class IntentIndex:
    """The NLU training examples, to find the existing intent a group of messages is closest to."""

    def __init__(self, space: Space, examples: list[tuple[str, str]]) -> None:
        self.examples = examples  # (text, intent)
        self.known = {normal(t) for t, _ in examples}
        self.matrix = space.vectors([t for t, _ in examples]) if examples else None

    def nearest(self, centroid: np.ndarray) -> Nearest | None:
        if self.matrix is None:
            return None
        scores = self.matrix @ centroid
        best = int(np.argmax(scores))
        return Nearest(self.examples[best][1], self.examples[best][0], float(scores[best]))


def top_logged_intents(rankings: list[list[dict]], limit: int = 3) -> list[tuple[str, float]]:
    """What NLU itself thought across a group: mean confidence per intent over its messages."""
    totals: defaultdict[str, float] = defaultdict(float)
    for ranking in rankings:
        for entry in ranking or []:
            name = entry.get("name")
            if name and name != "nlu_fallback" and entry.get("confidence") is not None:
                totals[name] += float(entry["confidence"])
    count = max(1, len(rankings))
    return sorted(((name, total / count) for name, total in totals.items()), key=lambda p: (-p[1], p[0]))[:limit]
