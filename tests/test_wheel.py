"""The wheel carries the core whole: built, installed into a fresh virtual environment
outside the checkout with only the core's dependencies, it enriches a seed there.

Before issue 7 ``Enricher()`` raised ``GazetteerError`` in such an install: the gazetteer
was read from ``config/`` beside the package. Now ``config/`` is the package
``worker.data`` in the wheel, read with ``importlib.resources``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CONFIG, ROOT, USER_SEED

pytestmark = pytest.mark.wheel

# What the core imports (worker.enrich), with the pin to use where pyproject.toml has
# none; the streaming shell's dependencies stay out.
CORE_DEPENDENCIES = {"orjson": "orjson", "ftfy": "ftfy==6.3.1"}

# What pyproject.toml builds the wheel from.
SOURCES = ("pyproject.toml", "README.md", "worker", "config")

# Runs in the fresh environment with -I: no checkout, no PYTHON* variables, no user site.
PROBE = """
import json, sys
from importlib.resources import files
import worker
from worker.enrich import Enricher, Enriched
result = Enricher().enrich(open(sys.argv[1], "rb").read())
assert isinstance(result, Enriched), result
schema = files("worker.data").joinpath("enriched-article.schema.json").read_text("utf-8")
print(json.dumps({
    "worker": worker.__file__,
    "data": str(files("worker.data")),
    "path": sys.path,
    "record": result.record,
    "schema": json.loads(schema),
}))
"""


def _run(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _core_requirements() -> list[str]:
    """The core's dependencies with the specifiers pyproject.toml gives them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name_of = re.compile(r"[A-Za-z0-9_.-]+")
    given = {m.group(0).lower(): d for d in project["dependencies"] if (m := name_of.match(d))}
    return [given.get(name, default) for name, default in CORE_DEPENDENCIES.items()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy of what the wheel is made of: setuptools' build/ folder would
    # otherwise land in the checkout, and files left there from an older build can end
    # up in a newer wheel.
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, source, cwd=dist)
    (built,) = dist.glob("article_worker-*.whl")
    return built


def test_the_wheel_holds_every_module_and_the_data_but_not_the_build(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "worker").rglob("*.py")}
    assert modules - names == set()  # the package list in pyproject.toml misses none
    assert {"worker/data/gazetteer.json", "worker/data/enriched-article.schema.json"} <= names
    assert "worker/py.typed" in names
    assert not [n for n in names if "build.py" in n or "curated" in n or "deny" in n]


def test_an_installed_wheel_enriches_a_seed_outside_the_checkout(
    wheel: Path, tmp_path: Path, schema_validator: Any
) -> None:
    from jsonschema import Draft202012Validator

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]
    _run(*pip, "--no-deps", wheel, cwd=tmp_path)
    _run(*pip, *_core_requirements(), cwd=tmp_path)

    out = json.loads(_run(python, "-I", "-c", PROBE, USER_SEED, cwd=tmp_path))

    assert Path(out["worker"]).is_relative_to(venv)
    assert Path(out["data"]).is_relative_to(venv)
    assert not [p for p in out["path"] if p and Path(p).resolve().is_relative_to(ROOT)]
    record = out["record"]
    entities = {e["canonical"]: e["mentions"] for e in record["entities"]}
    assert entities["Vladimir Putin"] == 4  # the gazetteer of the wheel, in use
    assert "Kim Jong Un" in entities
    # The schema read through importlib.resources is the one in config/, and it holds.
    assert out["schema"] == json.loads((CONFIG / "enriched-article.schema.json").read_text())
    assert list(Draft202012Validator(out["schema"]).iter_errors(record)) == []
    assert list(schema_validator.iter_errors(record)) == []
