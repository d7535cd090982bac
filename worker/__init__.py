"""article-worker: normalize and enrich news articles, offline or on Kafka with Faust."""

__version__ = "0.1.0"
