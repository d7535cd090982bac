"""Keywords: the most frequent content words of the body, grammar words left out."""

from __future__ import annotations

from collections import Counter

from worker.enrich.lexicon import STOPWORDS

# Grammar words carry no topic (worker.enrich.lexicon holds them for every module).
__all__ = ["KEYWORDS_MAX", "STOPWORDS", "keywords"]
KEYWORDS_MAX = 10


def keywords(counts: Counter[str], limit: int = KEYWORDS_MAX) -> list[str]:
    """The ``limit`` most frequent content words, seen at least twice; ties in order of first use.

    Content words are tokens that are not grammar words, numbers or single letters.
    """
    out: list[str] = []
    # As most_common() ranks them (a stable sort: ties keep first-use order), without
    # making a pair per word.
    for word in sorted(counts, key=counts.__getitem__, reverse=True):
        if counts[word] < 2 or len(out) == limit:
            break
        if word not in STOPWORDS and len(word) > 1 and not word.isdigit():
            out.append(word)
    return out
