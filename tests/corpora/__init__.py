"""Third-party test corpora, fetched pinned and hash-checked into ``.corpora/``."""
