"""(3) The framework's ceiling: the worker's Faust shell with a processor that only forwards.

``python -m benchmarks.passthrough`` runs :class:`worker.stream.app.StreamWorker` exactly as
``article-worker run`` does (settings from ``ARTICLE_WORKER_*`` and the config file,
topics ensured, the same batching, publisher and offset commits), except that each
message goes to the enriched topic unchanged instead of through the core. The difference
between its rate and the worker's is the enrichment; between it and the plain aiokafka
loop (:mod:`benchmarks.aiokafka_loop`), the framework.
"""

from __future__ import annotations

import logging
import sys

from worker.stream.processor import Inbound, Outbound


class PassthroughProcessor:
    """A :class:`~worker.stream.processor.MessageProcessor` that forwards key and value."""

    def __init__(self, topic: str) -> None:
        self.topic = topic

    def process(self, message: Inbound) -> Outbound:
        return Outbound(self.topic, message.key, message.value or b"", [], None, None, 0.0)


def main() -> int:
    """Run the passthrough worker until SIGTERM/SIGINT; the exit status."""
    from worker.settings import SettingsError, load_settings
    from worker.stream.app import StreamWorker
    from worker.stream.topics import ensure_topics

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"benchmarks.passthrough: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ensure_topics(settings)
    worker = StreamWorker(settings, processor=PassthroughProcessor(settings.enriched_topic))
    return worker.run()


if __name__ == "__main__":
    sys.exit(main())
