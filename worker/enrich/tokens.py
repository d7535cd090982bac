"""Word tokens that hold for Devanagari and other Indic and Arabic scripts.

The stdlib ``re`` does not count vowel signs, viramas and nuktas as word characters, so
``\\w+`` cuts ``ज़ेलेंस्की`` into pieces. The class here adds the combining marks of the
scripts news in India is written in; it runs on the stdlib engine, which measured faster
than ``regex`` with ``\\p{M}`` for this job.
"""

from __future__ import annotations

import re

# Combining marks (and joiners) that belong inside words: Latin diacritics, Arabic
# harakat, the Indic blocks from Devanagari to Sinhala, and ZWNJ/ZWJ.
WORD_MARKS = (
    "\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
    "\u0900-\u0963\u0966-\u0dff\u200c\u200d"  # the Indic blocks, minus danda and double danda
)
WORD_CHARS = f"\\w{WORD_MARKS}"
TOKEN = re.compile(f"[{WORD_CHARS}]+")


def tokenize(text: str) -> list[str]:
    """Split ``text`` into word tokens (letters, marks and digits), in order."""
    return TOKEN.findall(text)
