"""Fuzz the enrichment core: seeds from ``seeds/`` mutated in ways that broke it before.

    python -m tests.enrich.fuzz_core --inputs 100000 [--seed N] [--budget 2.0]

Each input is a seed article (or a splice of two) put through a few random mutations:
byte flips, truncation, splices, mojibake, HTML, runs of combining marks, invisible and
bidi characters, huge numbers, JSON wrappers with edge-of-calendar dates, odd ids, deep
``extra`` nesting and non-string fields, JSON scalars, and long repetitions. For every
input the core must not raise, must answer within the budget, and must either reject
with one of its own reason codes or return a record that orjson serializes and the
record schema accepts. Progress goes to stderr on long runs, a summary to stdout; the
exit status is 1 when any input failed. The generator is seeded: the same ``--seed`` and
``--inputs`` give the same inputs, so a failure can be replayed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.conftest import SEEDS, load_enricher, load_validator
from tests.enrich.schema_check import first_error
from worker.enrich import Enriched, errors

CORE_REASONS = frozenset(errors.REASONS) - {
    errors.INTERNAL_ERROR,
    errors.OUTPUT_TOO_LARGE,
    errors.TIMEOUT,
}
DEFAULT_BUDGET = 2.0  # seconds per input: the worker's default per-article budget
# One record in this many is validated by jsonschema too, and both validators must agree.
JSONSCHEMA_EVERY = 25
EDGE_DATES = (
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
    "2024-02-29",
    "1899-12-31",
    "2101-01-01",
    "2024-11-10T08:00:00Z",
    "not a date",
)
INVISIBLES = (
    "\u200b\u200c\u200d\u2060\u00ad\ufeff\u200e\u200f\u202a\u202e\u2066\u2069\ufffd\x00\x1f\x85"
)
MARKS = "\u0301\u0323\u0308\u094d\u093c\u0902\u0670\u064b\u0327"
HTML = (
    "<p>",
    "</p>",
    "<br/>",
    "<script>x=1</script>",
    "<script>",
    "<style>",
    "<!--",
    "-->",
    "<a href='x'>",
    "&amp;",
    "&amp;amp;",
    "&#2325;",
    "&#769;",
    "&nbsp",
    "<",
    ">",
)
REPEATABLE = ("<script>", "<a ", "à¤", "Monday 5 March ", "सोमवार 5 मार्च ", "1 ", "a\n\n", "&amp;")


def _seeds() -> list[bytes]:
    return [p.read_bytes() for p in sorted(SEEDS.iterdir()) if p.suffix in {".txt", ".json"}]


def _body_of(raw: bytes) -> str:
    """A seed's text: the body of a JSON seed, else the whole file."""
    text = raw.decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        try:
            body = orjson.loads(raw).get("body")
        except orjson.JSONDecodeError:
            return text
        return body if isinstance(body, str) else text
    return text


def _insert(rng: random.Random, text: str, piece: str) -> str:
    at = rng.randint(0, len(text))
    return text[:at] + piece + text[at:]


def _mojibake(rng: random.Random, text: str) -> str:
    start = rng.randint(0, len(text))
    end = min(len(text), start + rng.randint(1, 400))
    codec = rng.choice(["cp1252", "latin-1"])
    broken = (
        text[start:end].encode("utf-8").decode(codec, "replace" if codec == "cp1252" else "strict")
    )
    if rng.random() < 0.5:  # a tool that dropped cp1252's undefined bytes
        broken = broken.replace("\ufffd", rng.choice(["", "\ufffd"]))
    return text[:start] + broken + text[end:]


def _huge_number(rng: random.Random) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(rng.choice([19, 20, 40, 400])))
    digits = rng.choice([digits, "9" * rng.randint(4290, 4400)])  # int()'s limit is 4,300
    tail = rng.choice(["", ".5", "." + "3" * 50, " crore", " lakh crore", " trillion", "%"])
    return f" {digits}{tail} "


def _text_mutation(rng: random.Random, text: str) -> str:
    kind = rng.randrange(8)
    if kind == 0:
        return _mojibake(rng, text)
    if kind == 1:
        return _insert(rng, text, rng.choice(HTML))
    if kind == 2:
        return _insert(rng, text, rng.choice(MARKS) * rng.choice([1, 5, 30, 31, 32, 300]))
    if kind == 3:
        return _insert(rng, text, rng.choice(INVISIBLES) * rng.randint(1, 5))
    if kind == 4:
        return _insert(rng, text, _huge_number(rng))
    if kind == 5:
        return _insert(rng, text, rng.choice(REPEATABLE) * rng.choice([10, 100, 1000]))
    if kind == 6:
        at = rng.randint(0, len(text))
        return text[:at]  # truncated
    return _insert(
        rng, text, rng.choice([" 5 मार्च ", " Monday, 3 March ", " 29 फ़रवरी ", " in 2024 "])
    )


def _deep(rng: random.Random) -> Any:
    value: Any = rng.choice([1, "leaf", None])
    for _ in range(rng.choice([1, 10, 64, 65, 200])):
        value = [value] if rng.random() < 0.5 else {"k": value}
    return value


def _as_json(rng: random.Random, body: str) -> bytes:
    article: dict[str, Any] = {"body": body}
    if rng.random() < 0.6:
        article["published_at"] = rng.choice(EDGE_DATES)
    if rng.random() < 0.4:
        article["id"] = rng.choice(
            [
                "a-1",
                "\u202eevil",
                "\u200b",
                "i" * rng.choice([10, 512, 513, 5000]),
                7,
                -(2**63),
                1.5,
                True,
                None,
            ]
        )
    for name in ("title", "source", "url", "language"):
        if rng.random() < 0.05:
            article[name] = rng.choice([body[:80], 5, None, ["x"], {"a": 1}, "", "hi-IN"])
    if rng.random() < 0.3:
        article[rng.choice(["meta", "", "\x00", "body\u202e"])] = _deep(rng)
    if rng.random() < 0.05:
        article["body"] = rng.choice([5, None, ["x"], ""])
    try:
        return orjson.dumps(article)
    except orjson.JSONEncodeError:  # nested past what orjson writes: written by hand
        return orjson.dumps({"body": body})[:-1] + b', "meta": ' + b"[" * 300 + b"]" * 300 + b"}"


def _byte_mutation(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 8)):
        if not data:
            break
        at = rng.randrange(len(data))
        choice = rng.randrange(3)
        if choice == 0:
            data[at] ^= 1 << rng.randrange(8)
        elif choice == 1:
            del data[at : at + rng.randint(1, 4)]
        else:
            data[at:at] = bytes([rng.randrange(256)])
    return bytes(data)


def generate(rng: random.Random, seeds: list[bytes]) -> tuple[str, bytes]:
    """One fuzz input and a short label of how it was made."""
    raw = rng.choice(seeds)
    roll = rng.random()
    if roll < 0.05:
        return "scalar", rng.choice([b"42", b"null", b"true", b'"a string"', b"-1.5", b"5 killed"])
    if roll < 0.10:
        return "random-bytes", rng.randbytes(rng.randint(0, 300))
    if roll < 0.25:
        return "byte-flips", _byte_mutation(rng, raw)
    text = _body_of(raw)
    if rng.random() < 0.2:  # a splice of two seeds
        other = _body_of(rng.choice(seeds))
        text = text[: rng.randint(0, len(text))] + other[rng.randint(0, len(other)) :]
    for _ in range(rng.randint(1, 4)):
        text = _text_mutation(rng, text)
    boms = b"\xef\xbb\xbf" * rng.choice([0, 0, 0, 1, 2])
    if rng.random() < 0.5:
        return "json", boms + _as_json(rng, text)
    return "text", boms + text.encode("utf-8", "surrogatepass")


@dataclass
class Summary:
    inputs: int = 0
    enriched: int = 0
    rejections: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    slowest: float = 0.0
    slowest_input: str = ""
    seconds: float = 0.0

    def report(self) -> str:
        rate = self.inputs / self.seconds if self.seconds else 0.0
        lines = [
            f"inputs {self.inputs}, enriched {self.enriched}, rejected "
            f"{sum(self.rejections.values())}, failures {len(self.failures)}",
            f"time {self.seconds:.1f} s, {rate:,.0f} inputs/s",
            f"slowest input {self.slowest * 1000:.1f} ms: {self.slowest_input}",
            "rejections by reason: "
            + (", ".join(f"{r} {n}" for r, n in self.rejections.most_common()) or "none"),
            *(f"FAILURE {f}" for f in self.failures[:20]),
        ]
        return "\n".join(lines)


def check_one(
    raw: bytes, budget: float, with_jsonschema: bool = False
) -> tuple[str | None, float, str | None]:
    """Run the core on ``raw``: (rejection reason or None, seconds, failure or None)."""
    start = time.perf_counter()
    try:
        result = load_enricher().enrich(raw)
    except Exception as exc:  # noqa: BLE001 - the point: report any exception
        return None, time.perf_counter() - start, f"raised {type(exc).__name__}: {exc}"[:300]
    seconds = time.perf_counter() - start
    if seconds > budget:
        return None, seconds, f"took {seconds:.2f} s, budget {budget} s"
    if not isinstance(result, Enriched):
        if result.reason not in CORE_REASONS or not result.detail:
            return None, seconds, f"bad rejection {result}"
        return result.reason, seconds, None
    try:
        orjson.dumps(result.record)
    except orjson.JSONEncodeError as exc:
        return None, seconds, f"record does not serialize: {exc}"
    error = first_error(result.record)
    if error is not None or with_jsonschema:
        reference = next(iter(load_validator().iter_errors(result.record)), None)
        if (reference is None) != (error is None):
            return None, seconds, f"validators disagree: fast {error}, jsonschema {reference}"
        if error is not None:
            return None, seconds, f"record invalid: {error[:200]}"
    return None, seconds, None


def run(
    inputs: int,
    seed: int = 0,
    budget: float = DEFAULT_BUDGET,
    progress: Callable[[str], None] | None = None,
) -> Summary:
    """Fuzz ``inputs`` inputs; ``progress`` gets a status line every few seconds."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test inputs, not secrets
    seeds = _seeds()
    summary = Summary()
    load_enricher().enrich("warm up")
    started = last_report = time.perf_counter()
    for index in range(inputs):
        label, raw = generate(rng, seeds)
        reason, seconds, failure = check_one(raw, budget, index % JSONSCHEMA_EVERY == 0)
        summary.inputs += 1
        if failure is not None:
            summary.failures.append(f"#{index} ({label}, {len(raw)} bytes, seed {seed}): {failure}")
        elif reason is None:
            summary.enriched += 1
        else:
            summary.rejections[reason] += 1
        if seconds > summary.slowest:
            summary.slowest = seconds
            summary.slowest_input = f"#{index} ({label}, {len(raw)} bytes): {raw[:60]!r}"
        now = time.perf_counter()
        if progress is not None and now - last_report >= 5:
            last_report = now
            rate = summary.inputs / (now - started)
            eta = (inputs - summary.inputs) / rate if rate else 0.0
            progress(
                f"{summary.inputs}/{inputs} inputs, {rate:,.0f}/s, ETA {eta:.0f} s, "
                f"failures {len(summary.failures)}"
            )
    summary.seconds = time.perf_counter() - started
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.enrich.fuzz_core", description=__doc__)
    parser.add_argument("--inputs", type=int, default=100_000, help="how many inputs to try")
    parser.add_argument("--seed", type=int, default=0, help="seed of the input generator")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help="seconds per input")
    args = parser.parse_args(argv)

    def progress(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    summary = run(args.inputs, args.seed, args.budget, progress)
    sys.stdout.write(summary.report() + "\n")
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
