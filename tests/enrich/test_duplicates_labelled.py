"""The duplicate verdicts on a labelled set of our own writing (issue 10).

``tests/enrich/duplicates/labelled.json`` holds raw articles as the feed delivers them
(JSON objects or plain text), each labelled with its ``group`` (one story), ``variant``
(how this copy differs from the story's other copies) and ``topic``. Groups ``gNN`` are
stories with several copies; groups ``u_*`` are single, unrelated stories on the same
topics as the copied ones, in the same house style, which must never be marked.

Every article is enriched by the real core and fed, in file order with timestamps ten
minutes apart, to :class:`worker.enrich.duplicates.Index` with its defaults, as the
stream does: the candidate's id is the record's ``id`` and its message reference
(``ref``) the article's label ``key``. Verdicts are judged by the ``ref`` they name: a
plain-text article's id is the hash of its normalized body, which a nukta or mojibake
copy shares with its original, and a re-send keeps its id, so ``duplicate_of`` is then
the copy's own id (see :func:`test_copies_that_keep_the_record_id`).

``.venv/bin/python -m tests.enrich.test_duplicates_labelled`` prints the Markdown summary.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from worker.enrich import Enriched, Enricher
from worker.enrich import duplicates as dup

LABELLED = Path(__file__).parent / "duplicates" / "labelled.json"
START = 1_735_689_600.0  # 2025-01-01T00:00:00Z; only the spacing matters
STEP = 600.0  # ten minutes between articles: the whole set spans ~13 h, inside the window
MIN_PRECISION = 0.99
MIN_RECALL = 0.95


# --- the mechanical variants: how they were made (the test re-derives each one) ---------
def sloppy_cp1252(text: str) -> str:
    """UTF-8 bytes decoded as cp1252 the way browsers do (undefined bytes become C1)."""
    return "".join(
        chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252")
        for b in text.encode("utf-8")
    )


def latin1(text: str) -> str:
    """UTF-8 bytes decoded as Latin-1."""
    return text.encode("utf-8").decode("latin-1")


_PRECOMPOSED = {chr(c): unicodedata.normalize("NFD", chr(c)) for c in range(0x958, 0x960)}


def nukta_swap(text: str) -> str:
    """Precomposed nukta letters (U+0958-U+095F) decomposed, or, when there are none,
    base letter + U+093C composed into them."""
    if any(c in text for c in _PRECOMPOSED):
        return "".join(_PRECOMPOSED.get(c, c) for c in text)
    for precomposed, decomposed in _PRECOMPOSED.items():
        text = text.replace(decomposed, precomposed)
    return text


def invisible(text: str) -> str:
    """A BOM first, U+200B after every 7th space, U+00AD in the middle of every 9th
    alphabetic word of 7+ characters, U+2060 after every 5th full stop or danda."""
    out, long_seen = [], 0
    for i, word in enumerate(text.split(" ")):
        if len(word) >= 7 and word.isalpha():
            long_seen += 1
            if long_seen % 9 == 0:
                word = word[: len(word) // 2] + "\u00ad" + word[len(word) // 2 :]  # noqa: PLW2901
        out.append(word + ("\u200b" if i % 7 == 6 else ""))
    stops = itertools.count(1)
    joined = re.sub(
        r"[.।]", lambda m: m[0] + ("\u2060" if next(stops) % 5 == 0 else ""), " ".join(out)
    )
    return "\ufeff" + joined


def html_entities(text: str) -> str:
    """Entities for ``& " '``, ``&nbsp;`` before figures, a numeric entity in प्रतिशत, and
    each paragraph in ``<p>``."""
    text = text.replace("&", "&amp;").replace('"', "&quot;").replace("'", "&#39;")
    text = text.replace("Rs ", "Rs&nbsp;").replace(" per cent", "&nbsp;per cent")
    text = text.replace("प्रतिशत", "&#2346;्रतिशत")
    return "\n".join(f"<p>{p}</p>" for p in text.split("\n\n"))


TRANSFORMS: dict[str, Callable[[str], str]] = {
    "mojibake": sloppy_cp1252,
    "mojibake_latin1": latin1,
    "nukta": nukta_swap,
    "invisible_chars": invisible,
    "html_entities": html_entities,
}


# --- the set and its evaluation ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Labelled:
    key: str
    group: str
    variant: str
    topic: str
    raw: str | dict[str, Any]
    made_from: str | None
    transform: str | None

    @property
    def message(self) -> bytes:
        """The message value the feed delivers: the JSON object or the UTF-8 text."""
        return self.raw.encode("utf-8") if isinstance(self.raw, str) else orjson.dumps(self.raw)

    @property
    def unrelated(self) -> bool:
        return self.group.startswith("u_")


@cache
def load_set() -> tuple[Labelled, ...]:
    """The labelled articles in file order."""
    doc = json.loads(LABELLED.read_text(encoding="utf-8"))
    names = ("key", "group", "variant", "topic", "raw", "made_from", "transform")
    return tuple(Labelled(*(a.get(n) for n in names)) for a in doc["articles"])


@dataclass(frozen=True, slots=True)
class Evaluation:
    articles: tuple[Labelled, ...]
    records: dict[str, dict[str, Any]]
    verdicts: dict[str, dup.Match | None]

    def group_of(self, key: str) -> str:
        return next(a.group for a in self.articles if a.key == key)

    @property
    def copies(self) -> list[Labelled]:
        """Every article after the first of its group: each should be marked."""
        seen: set[str] = set()
        out = []
        for a in self.articles:
            if a.group in seen:
                out.append(a)
            seen.add(a.group)
        return out

    def correct(self, a: Labelled) -> bool:
        match = self.verdicts[a.key]
        return match is not None and self.group_of(match.ref) == a.group

    @property
    def marked(self) -> list[Labelled]:
        return [a for a in self.articles if self.verdicts[a.key] is not None]

    @property
    def precision(self) -> float:
        marked = self.marked
        return sum(map(self.correct, marked)) / len(marked) if marked else 1.0

    @property
    def recall(self) -> float:
        copies = self.copies
        return sum(map(self.correct, copies)) / len(copies)

    @property
    def own_id_verdicts(self) -> int:
        """Marked copies whose ``duplicate_of`` is their own record id."""
        return sum(
            self.verdicts[a.key].id == self.records[a.key]["id"]  # type: ignore[union-attr]
            for a in self.marked
        )

    def simhash(self, key: str) -> int:
        return int(self.records[key]["simhash"], 16)

    def pairs(self, *, same_group: bool) -> list[tuple[int, str, str]]:
        """(distance, key, key) of within-group pairs, or of cross-group same-topic pairs."""
        out = []
        for a, b in itertools.combinations(self.articles, 2):
            if a.topic == b.topic and (a.group == b.group) == same_group:
                out.append((dup.distance(self.simhash(a.key), self.simhash(b.key)), a.key, b.key))
        return sorted(out)


@cache
def evaluate() -> Evaluation:
    """Enrich every article and run the set through an :class:`~dup.Index` in file order."""
    articles = load_set()
    enricher = Enricher()
    index = dup.Index()
    records: dict[str, dict[str, Any]] = {}
    verdicts: dict[str, dup.Match | None] = {}
    for position, article in enumerate(articles):
        result = enricher.enrich(article.message)
        if not isinstance(result, Enriched):
            raise AssertionError(f"{article.key} rejected: {result}")
        record = result.record
        records[article.key] = record
        stamp = START + position * STEP
        candidate = dup.candidate(
            record["id"], record["simhash"], record["content_hash"], stamp, ref=article.key
        )
        verdicts[article.key] = index.add(candidate)
    return Evaluation(articles, records, verdicts)


# --- the summary ---------------------------------------------------------------------------
_BINS = [
    (0, 0),
    (1, 1),
    (2, 2),
    (3, 3),
    (4, 5),
    (6, 9),
    (10, 15),
    (16, 19),
    (20, 23),
    (24, 27),
    (28, 64),
]


def _percentile(values: list[int], q: float) -> int:
    """Nearest-rank percentile (``values`` sorted)."""
    rank = max(1, round(q / 100 * len(values) + 0.5 - 1e-9))
    return values[min(rank, len(values)) - 1]


def summary(ev: Evaluation | None = None) -> str:
    """The evaluation as Markdown: counts, precision, recall, per variant, distances."""
    ev = ev or evaluate()
    copies, marked = ev.copies, ev.marked
    groups = Counter(a.group for a in ev.articles)
    unrelated = [a for a in ev.articles if a.unrelated]
    near = ev.pairs(same_group=True)
    far = ev.pairs(same_group=False)
    langs = Counter(ev.records[a.key]["language"]["code"] for a in ev.articles)
    lines = [
        "### Labelled duplicate set (tests/enrich/duplicates/labelled.json)",
        "",
        f"- {len(ev.articles)} articles: {sum(1 for n in groups.values() if n > 1)} stories "
        f"with copies ({len(copies)} copies), {len(unrelated)} unrelated same-topic stories; "
        f"{len({a.topic for a in ev.articles})} topics; languages "
        + ", ".join(f"{k} {v}" for k, v in sorted(langs.items())),
        f"- Index defaults: max_distance {dup.Index().max_distance}, window 72 h; "
        f"articles {STEP / 60:.0f} min apart in file order",
        f"- Marked: {len(marked)} ({sum(ev.verdicts[a.key].exact for a in marked)} exact, "  # type: ignore[union-attr]
        f"{sum(not ev.verdicts[a.key].exact for a in marked)} near)",  # type: ignore[union-attr]
        f"- **Precision {ev.precision:.3f}** ({sum(map(ev.correct, marked))}/{len(marked)}), "
        f"**recall {ev.recall:.3f}** ({sum(map(ev.correct, copies))}/{len(copies)}), "
        f"unrelated marked: {sum(ev.verdicts[a.key] is not None for a in unrelated)}",
        f"- Copies whose `duplicate_of` is their own record id (plain text with the same "
        f"body hash, re-sends): {ev.own_id_verdicts}",
        "",
        "| variant | copies | marked | exact | near | recall |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    by_variant: dict[str, list[Labelled]] = defaultdict(list)
    for a in copies:
        by_variant[a.variant].append(a)
    for variant, items in sorted(by_variant.items()):
        hits = [a for a in items if ev.correct(a)]
        exact = sum(ev.verdicts[a.key].exact for a in hits)  # type: ignore[union-attr]
        lines.append(
            f"| {variant} | {len(items)} | {len(hits)} | {exact} | {len(hits) - exact} "
            f"| {len(hits) / len(items):.2f} |"
        )
    lines += ["", "| simhash distance | pairs | min | p5 | p25 | p50 | p75 | p95 | max |"]
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, pairs in (("near copies (same story)", near), ("unrelated, same topic", far)):
        values = [d for d, _, _ in pairs]
        stats = " | ".join(str(_percentile(values, q)) for q in (0, 5, 25, 50, 75, 95, 100))
        lines.append(f"| {name} | {len(values)} | {stats} |")
    lines += [
        "",
        "| distance | "
        + " | ".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in _BINS)
        + " |",
    ]
    lines.append("|---|" + "---:|" * len(_BINS))
    for name, pairs in (("near copies", near), ("unrelated", far)):
        counts = [sum(lo <= d <= hi for d, _, _ in pairs) for lo, hi in _BINS]
        lines.append(f"| {name} | " + " | ".join(map(str, counts)) + " |")
    missed = [a for a in copies if not ev.correct(a)]
    if missed:
        lines += ["", "Copies not marked (distance to each earlier copy of their story):"]
        for a in missed:
            earlier = [b for b in ev.articles[: ev.articles.index(a)] if b.group == a.group]
            dists = ", ".join(
                f"{b.key} {dup.distance(ev.simhash(a.key), ev.simhash(b.key))}" for b in earlier
            )
            lines.append(f"- {a.key} ({a.variant}): {dists}")
    return "\n".join(lines)


# --- the tests -----------------------------------------------------------------------------
def test_the_set_has_the_shape_issue_10_asks_for() -> None:
    articles = load_set()
    assert len(articles) >= 64
    assert len({a.key for a in articles}) == len(articles)
    sizes = Counter(a.group for a in articles)
    copied = {g: n for g, n in sizes.items() if not g.startswith("u_")}
    assert 10 <= len(copied) <= 12, copied
    assert all(4 <= n <= 7 for n in copied.values()), copied  # the original and 3-6 copies
    unrelated = [a for a in articles if a.unrelated]
    assert len(unrelated) >= 8
    assert all(sizes[a.group] == 1 for a in unrelated)
    # each unrelated story shares its topic with another story: the hard negatives
    for a in unrelated:
        assert sum(1 for g in {b.group for b in articles if b.topic == a.topic}) >= 2, a.key
    assert {a.variant for a in articles if not a.unrelated} >= {
        "original", "other_lead", "source_line", "teasers_added", "teasers_removed",
        "corrected_figure", "mojibake", "nukta", "invisible_chars", "html_entities", "resend",
    }  # fmt: skip


def test_mechanical_variants_are_what_the_transforms_make() -> None:
    by_key = {a.key: a for a in load_set()}
    derived = [a for a in by_key.values() if a.made_from]
    assert len(derived) >= 15
    for a in derived:
        assert a.made_from is not None
        assert a.transform is not None
        source, transform = by_key[a.made_from], TRANSFORMS[a.transform]
        if isinstance(source.raw, str):
            assert a.raw == transform(source.raw), a.key
            assert a.raw != source.raw, a.key
        else:
            assert isinstance(a.raw, dict)
            assert a.raw["body"] == transform(source.raw["body"]), a.key
            assert a.raw["body"] != source.raw["body"], a.key


def test_bodies_are_of_realistic_length() -> None:
    ev = evaluate()
    for a in ev.articles:
        words = len(ev.records[a.key]["body"].split())
        assert 150 <= words <= 600, (a.key, words)


def test_precision_recall_and_no_unrelated_marked() -> None:
    ev = evaluate()
    assert ev.precision >= MIN_PRECISION, summary(ev)
    assert ev.recall >= MIN_RECALL, summary(ev)
    assert [a.key for a in ev.articles if a.unrelated and ev.verdicts[a.key]] == []
    # the first article of a story is never marked either
    firsts = {a.group: a.key for a in reversed(ev.articles)}
    assert [k for k in firsts.values() if ev.verdicts[k] is not None] == []


def test_verdicts_point_at_an_earlier_article_within_the_distance() -> None:
    ev = evaluate()
    position = {a.key: i for i, a in enumerate(ev.articles)}
    for a in ev.marked:
        match = ev.verdicts[a.key]
        assert match is not None
        assert match.id == ev.records[match.ref]["id"]
        assert position[match.ref] < position[a.key]
        assert match.distance == dup.distance(ev.simhash(a.key), ev.simhash(match.ref))
        assert match.distance <= dup.Index().max_distance
        exact = ev.records[a.key]["content_hash"] == ev.records[match.ref]["content_hash"]
        assert match.exact == exact
        assert match.distance == 0 or not exact


def test_unrelated_same_topic_stories_are_further_apart_than_the_max_distance() -> None:
    ev = evaluate()
    far = ev.pairs(same_group=False)
    assert len(far) >= 40  # every topic with an unrelated story contributes pairs
    assert far[0][0] > dup.Index().max_distance, far[:5]


def test_normalization_variants_give_the_original_body() -> None:
    """Every variant but a corrected figure normalizes to the original's exact body: lead,
    source line, teasers, mojibake, nukta, invisible characters and entities all go."""
    ev = evaluate()
    first = {a.group: a.key for a in reversed(ev.articles)}
    for a in ev.copies:
        if a.variant != "corrected_figure":
            assert ev.records[a.key]["body"] == ev.records[first[a.group]]["body"], a.key
            match = ev.verdicts[a.key]
            assert match is not None, a.key
            assert match.exact, a.key


def test_copies_that_keep_the_record_id() -> None:
    """Without a producer id, the record's id is the body's hash: a plain-text copy that
    normalizes to its original's body has the original's id, and so has a JSON re-send.
    Such a copy is still marked, with ``duplicate_of`` naming its own id."""
    ev = evaluate()
    assert ev.records["g01-4"]["id"] == ev.records["g01-1"]["id"]  # mojibake plain text
    assert ev.records["g02-5"]["id"] == ev.records["g02-1"]["id"]  # JSON re-send
    own = [a.key for a in ev.marked if ev.verdicts[a.key].id == ev.records[a.key]["id"]]  # type: ignore[union-attr]
    assert {"g01-4", "g02-5"} <= set(own)


def test_summary_reports_the_measured_figures() -> None:
    ev = evaluate()
    text = summary(ev)
    assert f"**Precision {ev.precision:.3f}**" in text
    assert f"**recall {ev.recall:.3f}**" in text
    assert "| corrected_figure |" in text
    assert "| unrelated, same topic |" in text


if __name__ == "__main__":
    sys.stdout.write(summary() + "\n")
