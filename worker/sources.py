"""Where raw articles come from on the command line: files, folders, JSONL, stdin.

Shared by ``enrich`` (offline) and ``feed`` (to Kafka) so both read inputs the same way.
A file is one article, except ``.jsonl``/``.ndjson`` files, which hold one per line.
Folders are walked recursively in name order, taking ``.txt``, ``.json``, ``.jsonl`` and
``.ndjson`` files (so a README beside the articles is not mistaken for one). Standard
input is JSONL when every non-blank line starts with ``{``, else one article.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ARTICLE_SUFFIXES = frozenset({".txt", ".json", ".jsonl", ".ndjson"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})


@dataclass(frozen=True, slots=True)
class Item:
    """One raw message (``data``), or a file that could not be read (``error``)."""

    label: str  # "seeds/a.txt", "feed.jsonl:3", "-:2"
    data: bytes | None
    error: str | None = None


def _lines(label: str, data: bytes) -> Iterator[Item]:
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            yield Item(f"{label}:{number}", line.rstrip(b"\r"))


def _is_jsonl(data: bytes) -> bool:
    lines = [line for line in data.split(b"\n") if line.strip()]
    return len(lines) > 1 and all(line.lstrip().startswith(b"{") for line in lines)


def _file(path: Path) -> Iterator[Item]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Item(str(path), None, exc.strerror or str(exc))
        return
    if path.suffix.lower() in JSONL_SUFFIXES:
        yield from _lines(str(path), data)
    else:
        yield Item(str(path), data)


def expand(paths: Sequence[str]) -> list[Path | None]:
    """Resolve the arguments to a list of files (None stands for stdin), in order."""
    out: list[Path | None] = []
    for arg in paths:
        if arg == "-":
            out.append(None)
            continue
        path = Path(arg)
        if path.is_dir():
            out.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.suffix.lower() in ARTICLE_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            out.append(path)
    return out


def read_items(paths: Sequence[str]) -> Iterator[Item]:
    """Yield every raw message named by ``paths`` (see the module docstring)."""
    for path in expand(paths):
        if path is None:
            data = sys.stdin.buffer.read()
            yield from _lines("-", data) if _is_jsonl(data) else iter([Item("-", data)])
        else:
            yield from _file(path)
