"""The workload: deterministic, 2-10 KB, the promised mix, valid input for the core."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from benchmarks import workload
from tests.conftest import ROOT
from worker.enrich.decode import RawArticle, decode

N = 600


@pytest.fixture(scope="module")
def articles() -> list[workload.Article]:
    return workload.generate(N)


def digest(articles: list[workload.Article]) -> str:
    return hashlib.sha256(b"".join(a.key + a.value for a in articles)).hexdigest()


def test_same_articles_every_time(articles: list[workload.Article]) -> None:
    assert workload.generate(N) == articles
    # Article i does not depend on how many are generated, nor on where the slice starts.
    assert workload.generate(5, start=100) == articles[100:105]
    assert workload.article(17) == articles[17]


def test_same_articles_in_another_process(articles: list[workload.Article]) -> None:
    # A different hash seed: nothing may depend on set or str-hash order.
    code = (
        "import hashlib; from benchmarks import workload; "
        f"a = workload.generate({N}); "
        "print(hashlib.sha256(b''.join(x.key + x.value for x in a)).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == digest(articles)


def test_another_seed_gives_another_workload(articles: list[workload.Article]) -> None:
    other = workload.generate(20, seed=workload.DEFAULT_SEED + 1)
    assert [a.value for a in other] != [a.value for a in articles[:20]]


def test_sizes_within_2_to_10_kb(articles: list[workload.Article]) -> None:
    sizes = [len(a.value) for a in articles]
    assert min(sizes) >= workload.MIN_BYTES
    assert max(sizes) <= workload.MAX_BYTES
    # Spread over the range, not bunched at one end.
    assert sum(s < 4096 for s in sizes) > N // 10
    assert sum(s > 8192 for s in sizes) > N // 10


def test_mix_of_kinds_and_variants(articles: list[workload.Article]) -> None:
    summary = workload.describe(articles)
    kinds, variants = summary["kinds"], summary["variants"]
    assert isinstance(kinds, dict)
    assert isinstance(variants, dict)
    for kind, share in workload.KINDS:
        assert abs(kinds[kind] / N - share) < 0.07, kinds
    assert abs(variants["mojibake"] / N - workload.MOJIBAKE_SHARE) < 0.05, variants
    assert abs(variants["html"] / N - workload.HTML_SHARE) < 0.05, variants


def test_each_article_is_what_its_labels_say(articles: list[workload.Article]) -> None:
    for a in articles:
        raw = decode(a.value)
        assert isinstance(raw, RawArticle), a.key
        assert raw.id == a.key.decode()
        body = raw.body
        if a.variant == "html":
            assert "<p>" in body
            assert "&" in body
        else:
            assert "<p>" not in body
        if a.variant == "mojibake":
            assert "à¤" in body or "â€" in body or "Ã" in body, a.key
        elif a.variant == "plain":
            # Tags and mojibake add Latin letters; the plain text is its kind.
            assert workload.classify(body) == a.kind, a.key


def test_mojibake_is_utf8_read_as_windows_1252() -> None:
    assert workload.mojibake("क") == "à¤•"
    assert workload.mojibake("₹") == "â‚¹"
    assert workload.mojibake("plain") == "plain"


def test_the_core_accepts_every_article(enricher: object, articles: list[workload.Article]) -> None:
    from worker.enrich import Enriched

    rejected = [
        a.key
        for a in articles[:150]
        if not isinstance(enricher.enrich(a.value), Enriched)  # type: ignore[attr-defined]
    ]
    assert rejected == []


def test_seed_messages_are_the_seeds_the_core_accepts() -> None:
    from worker.enrich import Enriched, Enricher
    from worker.sources import read_items

    seeds = workload.seed_messages()
    every = [i.data for i in read_items([str(workload.SEEDS)]) if i.data is not None]
    enricher = Enricher()
    assert seeds == [d for d in every if isinstance(enricher.enrich(d), Enriched)]
    assert len(seeds) >= 40
