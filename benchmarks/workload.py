"""The benchmark workload: deterministic raw articles of 2–10 KB made from ``seeds/``.

The seed articles are decoded with the worker's own input decoder
(:func:`worker.enrich.decode.decode`), their bodies cut into lines, and each line put in
a pool by script: ``hi`` (Devanagari), ``en`` (Latin) or ``mixed`` (both). Lines that
already carry mojibake or HTML, and seeds of other languages (Marathi, Nepali, Bengali,
Urdu), are left out, so that the kinds below are what the generator made them.

Article ``i`` depends only on ``seed`` and ``i`` (its own :class:`random.Random`), never on
how many are generated, so the backlog and the latency phase of every configuration read
the same bytes. Its kind is Hindi (40%), English (30%) or mixed (30%: lines of both
pools alternating, and the mixed lines); 15% get mojibake (UTF-8 read as Windows-1252,
the whole body or one line) and another 15% HTML (paragraph tags, entities, inline
tags). The value is a JSON object (``id``, ``source``, ``title``, ``body``) of 2,048 to
10,240 bytes.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import orjson

from worker.enrich.decode import RawArticle, decode
from worker.sources import read_items

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
DEFAULT_SEED = 20261201
MIN_BYTES = 2 * 1024
MAX_BYTES = 10 * 1024
KINDS = (("hi", 0.4), ("en", 0.3), ("mixed", 0.3))
MOJIBAKE_SHARE = 0.15
HTML_SHARE = 0.15
#: Seed languages (the second field of a seed's file name) kept; unnamed seeds are kept.
LANGUAGES = frozenset({"hi", "en"})

# A character of U+00C2–U+00EF followed by a UTF-8 continuation byte read as Latin-1 or
# Windows-1252: the mark of UTF-8 read the wrong way (legitimate accents are not followed
# by such characters).
_MOJIBAKE = re.compile("[\u00c2-\u00ef][\u0080-\u00bf\u0152-\u0178\u02c6-\u203a\u20ac\u2122]")
_HTML = re.compile(r"<[a-zA-Z/!]|&#?\w+;")
_DEVANAGARI = re.compile("[\u0900-\u097f]")
_LATIN = re.compile("[A-Za-z]")
_OTHER_SCRIPTS = re.compile("[\u0600-\u06ff\u0980-\u0dff]")  # Arabic, Bengali ... Sinhala


@dataclass(frozen=True, slots=True)
class Article:
    """One raw message of the workload and what it was made as."""

    key: bytes
    value: bytes
    kind: str  # "hi", "en" or "mixed"
    variant: str  # "plain", "mojibake" or "html"


def classify(line: str) -> str | None:
    """``hi``, ``en`` or ``mixed`` by the letters of ``line``; None for other scripts."""
    if _OTHER_SCRIPTS.search(line):
        return None
    dev = len(_DEVANAGARI.findall(line))
    lat = len(_LATIN.findall(line))
    if dev + lat == 0:
        return None
    share = dev / (dev + lat)
    if share >= 0.9:
        return "hi"
    if share <= 0.02:
        return "en"
    return "mixed"


def _seed_language(label: str) -> str | None:
    parts = Path(label).name.split("_")
    return parts[1] if len(parts) > 2 and len(parts[1]) == 2 else None


@cache
def pools(seeds: str = str(SEEDS)) -> dict[str, tuple[str, ...]]:
    """Lines of the seed bodies by kind (``hi``, ``en``, ``mixed``), in seed order."""
    found: dict[str, list[str]] = {"hi": [], "en": [], "mixed": []}
    for item in read_items([seeds]):
        language = _seed_language(item.label)
        if item.data is None or (language is not None and language not in LANGUAGES):
            continue
        article = decode(item.data)
        if not isinstance(article, RawArticle):
            continue
        for raw_line in article.body.split("\n"):
            line = " ".join(raw_line.split())
            if len(line) < 40 or _MOJIBAKE.search(line) or _HTML.search(line):
                continue
            kind = classify(line)
            if kind is not None:
                found[kind].append(line)
    missing = [k for k, lines in found.items() if not lines]
    if missing:
        raise ValueError(f"no seed lines of kind {missing} in {seeds}")
    return {k: tuple(v) for k, v in found.items()}


def _sloppy_cp1252(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


#: Byte value -> its Windows-1252 character (Latin-1 where Windows-1252 has none).
_CP1252 = {b: _sloppy_cp1252(b) for b in range(256)}


def mojibake(text: str) -> str:
    """``text``'s UTF-8 read as Windows-1252 (bytes it leaves undefined as Latin-1), the
    lossless kind a repair can undo."""
    # Latin-1 maps bytes to U+0000-U+00FF one to one; the table moves them to cp1252's.
    return text.encode("utf-8").decode("latin-1").translate(_CP1252)


def htmlize(lines: list[str], rng: random.Random) -> list[str]:
    """``lines`` as HTML paragraphs, with entities and an inline tag or two."""
    out = []
    for line in lines:
        words = line.split(" ")
        if len(words) > 3 and rng.random() < 0.5:
            at = rng.randrange(len(words) - 1)
            words[at] = f"<b>{words[at]}</b>"
        if len(words) > 3 and rng.random() < 0.3:
            at = rng.randrange(len(words))
            words[at] = f'<a href="https://example.in/{at}">{words[at]}</a>'
        text = "&nbsp;".join(words[:2]) + " " + " ".join(words[2:])
        text = text.replace('"', "&quot;") if rng.random() < 0.5 else text
        text = text.replace("क", "&#2325;", 1)
        out.append(f"<p>{text} &amp; </p>" if rng.random() < 0.2 else f"<p>{text}</p>")
    return out


def _value(key: str, title: str, body: str) -> bytes:
    return orjson.dumps({"id": key, "source": "benchmark", "title": title, "body": body})


def article(i: int, seed: int = DEFAULT_SEED, prefix: str = "bench") -> Article:
    """Article number ``i`` of the workload ``seed`` (see the module docstring)."""
    rng = random.Random(f"{seed}:{i}")  # a str seed hashes the same in every process
    lines = pools()
    roll = rng.random()
    kind = "mixed"
    for name, share in KINDS:
        if roll < share:
            kind = name
            break
        roll -= share
    roll = rng.random()
    variant = "mojibake" if roll < MOJIBAKE_SHARE else "html" if roll < MOJIBAKE_SHARE * 2 else ""
    variant = variant or "plain"
    key = f"{prefix}-{seed}-{i:07d}"
    target = rng.randint(MIN_BYTES, MAX_BYTES)
    whole_mojibake = variant == "mojibake" and rng.random() < 0.5
    chosen: list[str] = []
    # Lines are added while an estimate of the body's size is under the target; the body
    # is built once, then cut by words if the estimate fell short of the decoration.
    size = len(_value(key, "", "")) + 40  # the title, about
    while size < target:
        pool = lines[("hi", "en", "mixed")[len(chosen) % 3] if kind == "mixed" else kind]
        line = rng.choice(pool)
        chosen.append(line)
        size += _line_bytes(line, variant, whole_mojibake)
    title = " ".join(chosen[0].split(" ")[:8])
    value = _value(key, title, _body(chosen, variant, whole_mojibake, rng_for(seed, i)))
    while len(value) > MAX_BYTES:
        words = chosen[-1].split(" ")
        if len(words) > 1:
            chosen[-1] = " ".join(words[: len(words) * 3 // 4])
        else:
            chosen.pop()
        value = _value(key, title, _body(chosen, variant, whole_mojibake, rng_for(seed, i)))
    return Article(key.encode(), value, kind, variant)


@cache
def _mojibake_bytes(line: str) -> int:
    return len(mojibake(line).encode("utf-8")) + 1


def _line_bytes(line: str, variant: str, whole_mojibake: bool) -> int:
    if variant == "mojibake" and whole_mojibake:
        return _mojibake_bytes(line)
    return len(line.encode("utf-8")) + (12 if variant == "html" else 1)


def rng_for(seed: int, i: int) -> random.Random:
    """The decoration's own generator: the same choices however often the body is rebuilt."""
    return random.Random(f"{seed}:{i}:decoration")


def typographic(text: str) -> str:
    """``text`` with typographic apostrophes and dashes, as English copy has them: the
    characters whose mojibake (``â€™``, ``â€”``) English news shows; ASCII has none."""
    text = text.replace("'", "’").replace(" - ", " — ")
    return text if not text.isascii() else text + " —"


def _body(lines: list[str], variant: str, whole_mojibake: bool, rng: random.Random) -> str:
    if variant == "html":
        return "\n".join(htmlize(lines, rng))
    if variant == "mojibake":
        if whole_mojibake:
            return mojibake("\n".join(typographic(line) for line in lines))
        at = rng.randrange(len(lines))
        return "\n".join(
            mojibake(typographic(line)) if n == at else line for n, line in enumerate(lines)
        )
    return "\n".join(lines)


def generate(count: int, start: int = 0, seed: int = DEFAULT_SEED) -> list[Article]:
    """Articles ``start`` to ``start + count - 1`` of the workload ``seed``."""
    return [article(i, seed) for i in range(start, start + count)]


def describe(articles: Sequence[Article]) -> dict[str, object]:
    """Counts by kind and variant and the size range, for the JSON report."""
    sizes = [len(a.value) for a in articles]
    kinds: dict[str, int] = {}
    variants: dict[str, int] = {}
    for a in articles:
        kinds[a.kind] = kinds.get(a.kind, 0) + 1
        variants[a.variant] = variants.get(a.variant, 0) + 1
    return {
        "articles": len(articles),
        "kinds": dict(sorted(kinds.items())),
        "variants": dict(sorted(variants.items())),
        "bytes_min": min(sizes, default=0),
        "bytes_max": max(sizes, default=0),
        "bytes_mean": round(sum(sizes) / len(sizes), 1) if sizes else 0,
    }


def seed_messages(seeds: str = str(SEEDS)) -> list[bytes]:
    """The seed files' bytes as the feed sends them, less any the core rejects (a rejection
    is cheap and would flatter the rate): the "seed-sized articles" of the core target."""
    from worker.enrich import Enriched, Enricher

    enricher = Enricher()
    return [
        item.data
        for item in read_items([seeds])
        if item.data is not None and isinstance(enricher.enrich(item.data), Enriched)
    ]
