"""``article-worker enrich`` reports an input the core fails on and goes on with the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from worker import cli
from worker.enrich import Enriched
from worker.enrich.pipeline import Enricher


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    paths = []
    for name, text in [
        ("a.txt", "Good article one."),
        ("b.txt", "BOOM"),
        ("c.txt", "Good article two."),
        ("d.txt", "HUGE"),
    ]:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture
def broken_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """A core that raises on one input and returns an unserializable record for another."""
    real = Enricher.enrich

    def enrich(self: Enricher, raw: bytes | str) -> Any:
        if raw == b"BOOM":
            raise RuntimeError("core bug")
        if raw == b"HUGE":
            return Enriched({"value": 2**70})  # orjson writes at most 64-bit integers
        return real(self, raw)

    monkeypatch.setattr(Enricher, "enrich", enrich)


def test_an_input_the_core_fails_on_is_a_reject_line(
    inputs: list[Path], broken_core: None, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    status = cli.main(["enrich", *map(str, inputs)])
    out, err = capsysbinary.readouterr()
    records = [orjson.loads(line) for line in out.splitlines()]
    assert [r["body"] for r in records] == ["Good article one.", "Good article two."]
    rejects = {r["input"]: r for r in map(orjson.loads, err.splitlines())}
    assert set(rejects) == {str(inputs[1]), str(inputs[3])}
    boom, huge = rejects[str(inputs[1])], rejects[str(inputs[3])]
    assert boom == {
        "input": str(inputs[1]),
        "reason": "internal_error",
        "detail": "RuntimeError: core bug",
    }
    assert huge["reason"] == "internal_error"
    assert "64-bit" in huge["detail"]
    assert status == 1


def test_without_failures_the_run_is_clean(
    inputs: list[Path], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    status = cli.main(["enrich", str(inputs[0]), str(inputs[2])])
    out, err = capsysbinary.readouterr()
    assert len(out.splitlines()) == 2
    assert err == b""
    assert status == 0
