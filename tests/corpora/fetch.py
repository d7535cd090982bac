"""Fetch ftfy's test corpus: ``python -m tests.corpora.fetch [cache dir]``.

Downloads the ftfy 6.3.1 source distribution from PyPI with pip (``pip download
--no-deps --no-binary :all:``, so only that one file), checks its SHA-256 against the pinned
value below, and extracts ``tests/test_cases.json`` into the cache directory (``.corpora/``
at the checkout's root, git-ignored). Standard library only; a second run finds the file
and does nothing.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

FTFY_VERSION = "6.3.1"
# sha256 of ftfy-6.3.1.tar.gz, as PyPI serves it (computed 2026-12-01 from the download).
FTFY_SDIST_SHA256 = "9b3c3d90f84fb267fe64d375a07b7f8912d817cf86009ae134aa03e1819506ec"
SDIST_NAME = f"ftfy-{FTFY_VERSION}.tar.gz"
MEMBER = f"ftfy-{FTFY_VERSION}/tests/test_cases.json"
CACHE = Path(__file__).resolve().parents[2] / ".corpora"
CASES_NAME = f"ftfy-{FTFY_VERSION}-test_cases.json"


class FetchError(RuntimeError):
    """The corpus could not be fetched or did not match its pinned hash."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(cache: Path) -> Path:
    sdist = cache / SDIST_NAME
    if sdist.exists() and _sha256(sdist) == FTFY_SDIST_SHA256:
        return sdist
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary", ":all:", "--dest", tmp, f"ftfy=={FTFY_VERSION}",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        got = Path(tmp) / SDIST_NAME
        if done.returncode != 0 or not got.exists():
            raise FetchError(f"pip download failed ({done.returncode}): {done.stderr[-2000:]}")
        actual = _sha256(got)
        if actual != FTFY_SDIST_SHA256:
            raise FetchError(f"{SDIST_NAME}: sha256 {actual}, pinned {FTFY_SDIST_SHA256}")
        got.replace(sdist)
    return sdist


def fetch_ftfy_cases(cache: Path = CACHE) -> Path:
    """The path of ftfy's test_cases.json in ``cache``, downloading it first if needed."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / CASES_NAME
    if target.exists():
        return target
    sdist = _download(cache)
    with tarfile.open(sdist, "r:gz") as archive:
        member = archive.extractfile(MEMBER)  # one named member: no path traversal
        if member is None:
            raise FetchError(f"{SDIST_NAME} has no {MEMBER}")
        data = member.read()
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(target)  # never a half-written corpus under the final name
    return target


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        path = fetch_ftfy_cases(Path(args[0]) if args else CACHE)
    except FetchError as exc:
        print(f"fetch failed: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    print(path)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
